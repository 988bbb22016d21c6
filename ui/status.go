package ui

import (
	"fmt"
	"time"

	"github.com/kalamdash/kalamdash/theme"
)

// stateBadge renders a connection state.
func stateBadge(st theme.Styles, s Snapshot, now time.Time) string {
	switch s.State {
	case "connected":
		return st.OK.Render("● connected")
	case "connecting":
		return st.Warn.Render("◌ connecting")
	case "reconnecting":
		txt := "↻ reconnecting"
		if !s.ReconnectAt.IsZero() {
			if d := s.ReconnectAt.Sub(now); d > 0 {
				txt += " in " + countdown(d+time.Second-1)
			} else {
				txt += " now"
			}
		}
		if s.Attempt > 0 {
			txt += fmt.Sprintf(" (attempt %d)", s.Attempt)
		}
		return st.Warn.Render(txt)
	case "disconnected":
		return st.Err.Render("○ disconnected")
	case "closed":
		return st.Err.Render("○ closed")
	case "":
		return st.Muted.Render("○ idle")
	}
	return st.Muted.Render(s.State)
}

// statusBar renders the connection's one-line status: state, close-code
// hint, rates with sparklines, compression ratio, RTT and tap drops.
func statusBar(st theme.Styles, s Snapshot, now time.Time, width int) string {
	parts := []string{stateBadge(st, s, now)}
	if s.CloseCode != 0 && s.State != "connected" {
		code := fmt.Sprintf("close %d", s.CloseCode)
		if h := closeHint(s.CloseCode); h != "" && width >= 120 {
			code += ": " + h
		}
		parts = append(parts, st.Err.Render(code))
	}
	proto := s.Serialization
	if proto == "" {
		proto = "json"
	}
	if s.NoCompress {
		proto += " plain"
	} else {
		proto += " gzip"
	}
	parts = append(parts, st.Info.Render(proto))
	sparkW := 8
	if width >= 120 {
		sparkW = 16
	}
	fps := last(s.Stats.FramesPerSec)
	bps := last(s.Stats.BytesPerSec)
	parts = append(parts,
		st.Label.Render("f/s ")+st.Value.Render(rate(fps))+" "+st.Sparkline.Render(sparkline(s.Stats.FramesPerSec, sparkW)),
		st.Label.Render("B/s ")+st.Value.Render(rate(bps))+" "+st.Sparkline.Render(sparkline(s.Stats.BytesPerSec, sparkW)))
	if s.Stats.WireBytes > 0 && s.Stats.DecodedBytes > 0 {
		parts = append(parts, st.Label.Render("ratio ")+st.Value.Render(fmt.Sprintf("%.1f×", float64(s.Stats.DecodedBytes)/float64(s.Stats.WireBytes))))
	}
	if s.Stats.RTT > 0 {
		parts = append(parts, st.Label.Render("rtt ")+st.Value.Render(shortDur(s.Stats.RTT)))
	}
	drops := st.Label.Render("drops ") + st.Value.Render(fmt.Sprint(s.Stats.TapDrops))
	if s.Stats.TapDrops > 0 {
		drops = st.Warn.Render(fmt.Sprintf("drops %d", s.Stats.TapDrops))
	}
	parts = append(parts, drops)
	if s.Stats.Reconnects > 0 {
		parts = append(parts, st.Label.Render("reconn ")+st.Value.Render(fmt.Sprint(s.Stats.Reconnects)))
	}
	return fit(joinFit(parts, st.HelpSep.Render(" │ "), width), width)
}
