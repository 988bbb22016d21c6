package ui

import (
	"fmt"
	"time"

	"github.com/kalamdash/kalamdash/theme"
)

// Style roles of a piece of text whose style depends on state.
const (
	roleOK = iota
	roleWarn
	roleErr
	roleMuted
)

// roleStyle renders s, which may come from outside, in role's style.
func roleStyle(st theme.Styles, role int, s string) string {
	style := st.Muted
	switch role {
	case roleOK:
		style = st.OK
	case roleWarn:
		style = st.Warn
	case roleErr:
		style = st.Err
	}
	return safeIn(&st, style, s)
}

// stateText is a connection state in words and the role it is shown in.
func stateText(s Snapshot, now time.Time) (string, int) {
	switch s.State {
	case "connected":
		return "● connected", roleOK
	case "connecting":
		return "◌ connecting", roleWarn
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
		return txt, roleWarn
	case "disconnected":
		return "○ disconnected", roleErr
	case "closed":
		return "○ closed", roleErr
	case "":
		return "○ idle", roleMuted
	}
	return s.State, roleMuted // from the backend: roleStyle makes it safe
}

// stateBadge renders a connection state.
func stateBadge(st theme.Styles, s Snapshot, now time.Time) string {
	txt, role := stateText(s, now)
	return roleStyle(st, role, txt)
}

// statusParts is everything the status bar shows, as plain text: cheap to
// compute and comparable, so it is the status bar's cache key (see
// renderCache); renderStatus styles it.
type statusParts struct {
	stID      uint64
	width     int
	state     string
	stateRole int
	code      string // close code (and hint), "" when connected or none
	proto     string
	sparkW    int
	fps, bps  string // rates
	fpsSpark  string
	bpsSpark  string
	ratio     string // "" when unknown
	rtt       string // "" when unknown
	drops     uint64
	reconn    int
}

// statusOf extracts the status bar's parts from a snapshot.
func statusOf(s Snapshot, now time.Time, width int) statusParts {
	p := statusParts{width: width, drops: s.Stats.TapDrops, reconn: s.Stats.Reconnects}
	p.state, p.stateRole = stateText(s, now)
	if s.CloseCode != 0 && s.State != "connected" {
		p.code = fmt.Sprintf("close %d", s.CloseCode)
		if h := closeHint(s.CloseCode); h != "" && width >= 120 {
			p.code += ": " + h
		}
	}
	p.proto = s.Serialization
	if p.proto == "" {
		p.proto = "json"
	}
	if s.NoCompress {
		p.proto += " plain"
	} else {
		p.proto += " gzip"
	}
	p.sparkW = 8
	if width >= 120 {
		p.sparkW = 16
	}
	p.fps, p.fpsSpark = rate(last(s.Stats.FramesPerSec)), sparkline(s.Stats.FramesPerSec, p.sparkW)
	p.bps, p.bpsSpark = rate(last(s.Stats.BytesPerSec)), sparkline(s.Stats.BytesPerSec, p.sparkW)
	if s.Stats.WireBytes > 0 && s.Stats.DecodedBytes > 0 {
		p.ratio = fmt.Sprintf("%.1f×", float64(s.Stats.DecodedBytes)/float64(s.Stats.WireBytes))
	}
	if s.Stats.RTT > 0 {
		p.rtt = shortDur(s.Stats.RTT)
	}
	return p
}

// statusBar renders the connection's one-line status: state, close-code
// hint, rates with sparklines, compression ratio, RTT and tap drops.
func statusBar(st theme.Styles, s Snapshot, now time.Time, width int) string {
	return renderStatus(st, statusOf(s, now, width))
}

func renderStatus(st theme.Styles, p statusParts) string {
	parts := []string{roleStyle(st, p.stateRole, p.state)}
	if p.code != "" {
		parts = append(parts, st.Err.Render(p.code))
	}
	parts = append(parts, safeIn(&st, st.Info, p.proto))
	parts = append(parts,
		st.Label.Render("f/s ")+st.Value.Render(p.fps)+" "+st.Sparkline.Render(p.fpsSpark),
		st.Label.Render("B/s ")+st.Value.Render(p.bps)+" "+st.Sparkline.Render(p.bpsSpark))
	if p.ratio != "" {
		parts = append(parts, st.Label.Render("ratio ")+st.Value.Render(p.ratio))
	}
	if p.rtt != "" {
		parts = append(parts, st.Label.Render("rtt ")+st.Value.Render(p.rtt))
	}
	drops := st.Label.Render("drops ") + st.Value.Render(fmt.Sprint(p.drops))
	if p.drops > 0 {
		drops = st.Warn.Render(fmt.Sprintf("drops %d", p.drops))
	}
	parts = append(parts, drops)
	if p.reconn > 0 {
		parts = append(parts, st.Label.Render("reconn ")+st.Value.Render(fmt.Sprint(p.reconn)))
	}
	return fit(joinFit(parts, st.HelpSep.Render(" │ "), p.width), p.width)
}
