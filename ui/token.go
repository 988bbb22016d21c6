package ui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/lipgloss/v2"

	"github.com/kalamdash/kalamdash/theme"
)

// policyKinds is the cycle order of the p key.
var policyKinds = []string{"manual", "periodic", "before-expiry"}

// nextPolicy returns the policy after p in the p-key cycle, with a sensible
// default interval for the new kind.
func nextPolicy(p Policy) Policy {
	i := 0
	for j, k := range policyKinds {
		if k == p.Kind {
			i = j
		}
	}
	n := Policy{Kind: policyKinds[(i+1)%len(policyKinds)], Interval: p.Interval}
	if n.Interval <= 0 {
		n.Interval = 30 * time.Second
	}
	if n.Kind == "manual" {
		n.Interval = 0
	}
	return n
}

// policySpec writes p in the grammar Conn.SetPolicy takes.
func policySpec(p Policy) string {
	switch p.Kind {
	case "periodic":
		return "every " + p.Interval.String()
	case "before-expiry":
		return "before " + p.Interval.String()
	}
	return "manual"
}

// stepInterval changes a policy's interval by one step in direction dir.
func stepInterval(p Policy, dir int) Policy {
	steps := []time.Duration{5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 30 * time.Minute}
	i := 0
	for j, s := range steps {
		if s <= p.Interval {
			i = j
		}
	}
	i = clamp(i+dir, 0, len(steps)-1)
	p.Interval = steps[i]
	return p
}

// phaseBadge renders a token phase as a coloured badge.
func phaseBadge(st theme.Styles, phase string) string {
	switch phase {
	case "fresh":
		return st.BadgeOK.Render("FRESH")
	case "expiring":
		return st.BadgeWarn.Render("EXPIRING")
	case "leeway":
		return st.BadgeErr.Render("IN LEEWAY")
	case "dead":
		return st.BadgeErr.Render("DEAD")
	case "", "none":
		return st.BadgeInfo.Render("NO TOKEN")
	}
	return safeIn(&st, st.BadgeInfo, strings.ToUpper(phase))
}

// expiryBar draws remaining/lifetime as a bar that turns from the OK
// colour to warn (under 50 %) to error (under 20 %).
func expiryBar(st theme.Styles, remaining, lifetime time.Duration, width int) string {
	return renderBar(st, barOf(remaining, lifetime, width))
}

// barParts is what an expiry bar shows: how many of width cells are full
// and the role of their colour.
type barParts struct{ width, full, role int }

func barOf(remaining, lifetime time.Duration, width int) barParts {
	if width < 3 {
		return barParts{width: width}
	}
	frac := 0.0
	if lifetime > 0 {
		frac = float64(remaining) / float64(lifetime)
	}
	frac = min(max(frac, 0), 1)
	b := barParts{width: width, full: int(frac*float64(width) + 0.5), role: roleOK}
	switch {
	case frac < 0.2:
		b.role = roleErr
	case frac < 0.5:
		b.role = roleWarn
	}
	return b
}

func renderBar(st theme.Styles, b barParts) string {
	if b.width < 3 {
		return ""
	}
	style := st.OK
	switch b.role {
	case roleErr:
		style = st.Err
	case roleWarn:
		style = st.Warn
	}
	if !st.Colour {
		style = lipgloss.NewStyle()
	}
	return style.Render(strings.Repeat("█", b.full)) + st.BarEmpty.Render(strings.Repeat("░", b.width-b.full))
}

// countdownLine renders "label  in m:ss  [bar]  at hh:mm:ss".
func countdownLine(st theme.Styles, label string, now, iat, exp time.Time, width int) string {
	return renderCountdown(st, label, countdownOf(now, iat, exp, width))
}

// countdownParts is what a countdown line shows, as plain values.
type countdownParts struct {
	set  bool   // the expiry is known
	text string // "in m:ss" or "expired m:ss ago"
	bar  barParts
	at   string
}

func countdownOf(now, iat, exp time.Time, width int) countdownParts {
	if exp.IsZero() {
		return countdownParts{}
	}
	rem := exp.Sub(now)
	lifetime := exp.Sub(iat)
	if iat.IsZero() || lifetime <= 0 {
		lifetime = max(rem, time.Second)
	}
	cd := countdown(rem)
	if rem < 0 {
		cd = "expired " + countdown(-rem) + " ago"
	} else {
		cd = "in " + cd
	}
	barW := clamp(width-9-18-13-2, 0, 40)
	return countdownParts{set: true, text: cd, bar: barOf(rem, lifetime, barW), at: clockTimeNear(exp, now)}
}

func renderCountdown(st theme.Styles, label string, p countdownParts) string {
	if !p.set {
		return st.Label.Render(fit(label, 9)) + st.Muted.Render("—")
	}
	left := st.Label.Render(fit(label, 9))
	txt := st.Value.Render(fit(p.text, 18))
	at := st.Muted.Render(" at " + p.at)
	return left + txt + renderBar(st, p.bar) + at
}

// tokenClock is everything the token view shows that moves with the
// clock, as plain values: with the snapshot, the view's cache key.
type tokenClock struct {
	access, refresh countdownParts
	policy          string // countdown to the next scheduled refresh
}

func tokenClockOf(s Snapshot, now time.Time, width int) tokenClock {
	t := s.Token
	c := tokenClock{
		access:  countdownOf(now, t.IssuedAt, t.ExpiresAt, width-2),
		refresh: countdownOf(now, t.IssuedAt, t.RefreshExpiresAt, width-2),
	}
	if !s.Policy.NextAt.IsZero() {
		c.policy = countdown(s.Policy.NextAt.Sub(now))
	}
	return c
}

// tokenView renders the token panel.
func tokenView(st theme.Styles, s Snapshot, now time.Time, keys TokenKeyMap, width, height int) string {
	return tokenViewAt(st, s, tokenClockOf(s, now, width), keys, width, height)
}

// tokenViewAt renders the token panel with the clock-dependent parts c.
func tokenViewAt(st theme.Styles, s Snapshot, c tokenClock, keys TokenKeyMap, width, height int) string {
	t := s.Token
	var lines []string
	head := st.TitleFocused.Render("Token") + "  " + phaseBadge(st, t.Phase)
	if t.SocketOutlived {
		head += " " + st.BadgeErr.Render("SOCKET OUTLIVED ITS TOKEN")
	}
	if t.Fingerprint != "" {
		head += safeIn(&st, st.Muted, "  fp "+t.Fingerprint)
	}
	if s.Refreshing {
		head += " " + st.BadgeInfo.Render("REFRESHING")
	}
	if s.Failures > 0 {
		head += " " + st.Err.Render(fmt.Sprintf("%d failed refreshes in a row", s.Failures))
	}
	lines = append(lines, head)
	if t.Kind == "none" || (t.ExpiresAt.IsZero() && t.Kind != "") {
		lines = append(lines, st.Muted.Render("  no expiring token on this connection (auth none or no exp claim)"))
	}
	lines = append(lines,
		"  "+renderCountdown(st, "access", c.access),
		"  "+renderCountdown(st, "refresh", c.refresh),
	)
	if msg := ClockSkewNotice(t.ClockSkew); msg != "" {
		lines = append(lines, "  "+st.Warn.Render(truncate(msg, width-2)))
	}
	if t.Swap != nil {
		lines = append(lines, "  "+swapLine(st, t.Swap, width-2))
	}
	if t.SocketOutlived {
		lines = append(lines, "  "+st.Warn.Render(fmt.Sprintf(
			"the socket authenticated with a token that expired at %s; KalamDB never re-checks a live socket", clockTime(t.SocketTokenExp))))
	}
	kv := func(k, v string) string {
		if v == "" {
			v = "-"
		}
		return st.Label.Render(k+" ") + safeIn(&st, st.Value, v)
	}
	claims := []string{kv("sub", t.Subject), kv("role", t.Role), kv("email", t.Email), kv("iss", t.Issuer),
		kv("type", t.TokenType), kv("iat", clockTime(t.IssuedAt))}
	lines = append(lines, "  "+joinFit(claims, "  ", width-2))

	// Policy.
	pol := st.Label.Render("policy ") + st.Value.Render(t2s(s.Policy))
	if !s.Policy.NextAt.IsZero() {
		what := "next refresh"
		if s.Policy.Retrying {
			what = "retry"
		}
		pol += st.Muted.Render(fmt.Sprintf("  %s %s (in %s)", what, clockTime(s.Policy.NextAt), c.policy))
	}
	if t.Source != "" {
		lines = append(lines, "  "+truncate(kv("source", t.Source), width-2))
	}
	lines = append(lines, "  "+pol)
	// Key hints for what the connection can do (disabled keys are left out).
	if hint := bindHelps(st, keys.Refresh, keys.UseRefresh, keys.Policy, keys.Longer, keys.Reconnect); len(hint) > 0 {
		lines = append(lines, "  "+joinFit(hint, st.HelpSep.Render(" • "), width-2))
	}
	if poke := bindHelps(st, keys.Swap, keys.ClearSwap); len(poke) > 0 {
		lines = append(lines, "  "+joinFit(append([]string{st.Muted.Render("hands-on:")}, poke...), " ", width-2))
	}
	if faults := bindHelps(st, keys.Expire, keys.Drop); len(faults) > 0 {
		lines = append(lines, "  "+joinFit(append([]string{st.Muted.Render("demo server:")}, faults...), " ", width-2))
	}
	lines = append(lines, "")
	// The connection block only shows when the rotation history (and the
	// provider calls) keep enough rows: they matter more for rotation tests.
	need := 5 + 2 + max(min(len(s.Rotations), 4), 1)
	if len(s.Providers) > 0 {
		need += min(len(s.Providers), 3) + 2
	}
	if height-len(lines) >= need {
		lines = append(lines, connInfo(st, s, width)...)
		lines = append(lines, "")
	}

	// Rotation history, newest first, as many as fit.
	lines = append(lines, st.TitleFocused.Render(fmt.Sprintf("Rotations %d", len(s.Rotations))))
	// Expiries a day or more after their rotation carry the day, in wider
	// columns: a 24-hour token rotated at 23:32:10 "expires 23:32:10".
	expW := 9
	expiry := func(exp, at time.Time) string {
		if dayApart(exp, at) {
			return exp.Format("Jan 2 15:04")
		}
		return clockTime(exp)
	}
	for _, r := range s.Rotations {
		if len(expiry(r.OldExp, r.Time)) > 8 || len(expiry(r.NewExp, r.Time)) > 8 {
			expW = 13
		}
	}
	lines = append(lines, st.Header.Render(fit(rotationRow("TIME", "TRIGGER", "LATENCY", "OLD EXP", "NEW EXP", "RESULT", expW, width), width)))
	room := height - len(lines)
	if len(s.Providers) > 0 {
		room -= min(len(s.Providers), 3) + 2 // keep space for the provider calls
	}
	if len(s.Rotations) == 0 {
		hint := "  none yet" // a recording or a watched application: nothing to press
		if keys.Refresh.Enabled() {
			hint += ": press R to refresh now, or p for a policy"
		}
		lines = append(lines, st.Muted.Render(hint))
	}
	for i := len(s.Rotations) - 1; i >= 0 && room > 0; i-- {
		r := s.Rotations[i]
		res := st.OK.Render("ok")
		switch {
		case !r.OK:
			res = safeIn(&st, st.Err, "failed: "+r.Err)
		case r.Answer != "":
			res = st.OK.Render("ok") + safeIn(&st, st.Muted, " "+r.Answer)
		case r.NewFinger != "":
			res = st.OK.Render("ok") + safeIn(&st, st.Muted, " "+r.OldFinger+"→"+r.NewFinger)
		}
		trig := r.Trigger
		if r.Method == "swap" && r.Trigger != "swap" && r.Trigger != "swap cleared" {
			trig += "·swap" // a connection attempt made with a swapped token
		}
		lines = append(lines, rotationRow(clockTime(r.Time), safe(&st, trig), shortDur(r.Latency), expiry(r.OldExp, r.Time), expiry(r.NewExp, r.Time), res, expW, width))
		room--
	}
	if n := len(s.Providers); n > 0 && height-len(lines) >= 3 {
		lines = append(lines, "", st.TitleFocused.Render(fmt.Sprintf("Provider calls %d", n)))
		for i := n - 1; i >= 0 && height-len(lines) > 0; i-- {
			p := s.Providers[i]
			res := safeIn(&st, st.OK, p.Kind+" "+p.Fingerprint)
			if p.Err != "" {
				res = safeIn(&st, st.Err, "failed: "+p.Err)
			}
			lines = append(lines, " "+fit(clockTime(p.Time), 9)+fitLeft(shortDur(p.Duration), 8)+"  "+truncate(res, max(width-20, 6)))
		}
	}
	return box(lines, width, height)
}

func rotationRow(t, trig, lat, oldE, newE, res string, expW, width int) string {
	return " " + fit(t, 9) + fit(trig, 15) + fitLeft(lat, 8) + "  " + fit(oldE, expW) + fit(newE, expW) + truncate(res, max(width-35-2*expW, 6))
}

func t2s(p Policy) string {
	switch p.Kind {
	case "periodic":
		return "periodic every " + p.Interval.String()
	case "before-expiry":
		if share, ok := strings.CutPrefix(p.Spec, "before "); ok && strings.HasSuffix(share, "%") {
			return "before expiry (at " + share + " of its life: lead " + p.Interval.String() + ")"
		}
		return "before expiry (lead " + p.Interval.String() + ")"
	case "":
		return "manual"
	}
	return p.Kind
}

// bindHelp renders one binding as "key desc".
func bindHelp(st theme.Styles, b key.Binding) string {
	h := b.Help()
	return st.HelpKey.Render(h.Key) + " " + st.HelpDesc.Render(h.Desc)
}

// bindHelps renders the enabled bindings of bs (bindHelp).
func bindHelps(st theme.Styles, bs ...key.Binding) []string {
	var out []string
	for _, b := range bs {
		if b.Enabled() {
			out = append(out, bindHelp(st, b))
		}
	}
	return out
}

// joinFit joins parts with sep while they fit in width.
func joinFit(parts []string, sep string, width int) string {
	var b strings.Builder
	w := 0
	for i, p := range parts {
		pw := lipgloss.Width(p)
		if i > 0 {
			pw += lipgloss.Width(sep)
		}
		if w+pw > width {
			break
		}
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(p)
		w += pw
	}
	return b.String()
}

// summaryParts is what the one-line token summary shows, as plain values:
// the view bar's cache key (see renderCache).
type summaryParts struct {
	show     bool // the token has an expiry
	access   string
	bar      barParts
	phase    string
	refresh  string // countdown to the refresh token's expiry, "" without one
	outlived bool
}

func summaryOf(s Snapshot, now time.Time) summaryParts {
	t := s.Token
	if t.ExpiresAt.IsZero() {
		return summaryParts{}
	}
	rem := t.ExpiresAt.Sub(now)
	life := t.ExpiresAt.Sub(t.IssuedAt)
	if t.IssuedAt.IsZero() {
		life = max(rem, time.Second)
	}
	p := summaryParts{show: true, access: countdown(rem), bar: barOf(rem, life, 8), phase: t.Phase, outlived: t.SocketOutlived}
	if !t.RefreshExpiresAt.IsZero() {
		p.refresh = countdown(t.RefreshExpiresAt.Sub(now))
	}
	return p
}

// tokenSummary is the one-line token state shown above every view.
func tokenSummary(st theme.Styles, s Snapshot, now time.Time, width int) string {
	return renderSummary(st, summaryOf(s, now), width)
}

func renderSummary(st theme.Styles, p summaryParts, width int) string {
	if !p.show {
		return ""
	}
	parts := st.Label.Render("access ") + st.Value.Render(p.access) + " " + renderBar(st, p.bar) + " " + phaseBadge(st, p.phase)
	if p.refresh != "" && width > 60 {
		parts += st.Label.Render("  refresh ") + st.Value.Render(p.refresh)
	}
	if p.outlived {
		parts += " " + st.BadgeErr.Render("OUTLIVED")
	}
	return parts
}

// connInfo renders the connection block of the token view (shown when the
// terminal is tall enough).
func connInfo(st theme.Styles, s Snapshot, width int) []string {
	kv := func(k, v string) string { return st.Label.Render(k+" ") + safeIn(&st, st.Value, v) }
	ratio := "-"
	if s.Stats.WireBytes > 0 && s.Stats.DecodedBytes > 0 {
		ratio = fmt.Sprintf("%.1f×", float64(s.Stats.DecodedBytes)/float64(s.Stats.WireBytes))
	}
	proto := s.Serialization
	if s.NoCompress {
		proto += ", compress=false"
	} else {
		proto += ", gzip"
	}
	l1 := []string{kv("url", s.URL), kv("user", s.User), kv("role", s.Role), kv("protocol", proto), kv("socket", fmt.Sprintf("#%d", s.ConnID))}
	l2 := []string{
		kv("frames in/out", fmt.Sprintf("%d/%d", s.Stats.FramesIn, s.Stats.FramesOut)),
		kv("bytes in/out", humanBytes(s.Stats.BytesIn)+"/"+humanBytes(s.Stats.BytesOut)),
		kv("wire→decoded", humanBytes(s.Stats.WireBytes)+"→"+humanBytes(s.Stats.DecodedBytes)+" ("+ratio+")"),
		kv("reconnects", fmt.Sprint(s.Stats.Reconnects)),
		kv("log", fmt.Sprintf("%d kept, %d evicted", s.Stats.LogLen, s.Stats.Evicted)),
	}
	return []string{
		st.TitleFocused.Render("Connection"),
		"  " + joinFit(l1, "  ", width-2),
		"  " + joinFit(l2[:3], "  ", width-2),
		"  " + joinFit(l2[3:], "  ", width-2),
	}
}

// skewTolerance is the server's own leeway: below it, skew changes nothing.
const skewTolerance = time.Minute

// ClockSkewNotice explains a clock skew the Token view warns about, or ""
// when the clocks agree within the server's leeway.
func ClockSkewNotice(skew time.Duration) string {
	if skew > -skewTolerance && skew < skewTolerance {
		return ""
	}
	way := "ahead of"
	if skew < 0 {
		way, skew = "behind", -skew
	}
	return fmt.Sprintf("clock skew: the server's clock is about %s %s this machine's; countdowns and refresh times are off by that much (sync the clocks: NTP)",
		skew.Round(time.Minute), way)
}
