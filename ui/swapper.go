package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/kalamdash/kalamdash/theme"
)

// swapper is the Token view's token swap dialog: a token pasted (or picked
// from the connection's candidates) is decoded before it is used, then
// swapped in place of the auth provider's answer — for the next connection
// attempt only, or until cleared.
type swapper struct {
	keys  SwapKeyMap
	open  bool
	input textinput.Model
	once  bool
	cands []SwapCandidate
	next  int    // the candidate ctrl+n loads next
	label string // the loaded candidate's label; "" for a pasted token
	// dec is the input decoded (decFor is the text it decoded).
	dec    DecodedToken
	decFor string
}

// SwapKeyMap holds the swap dialog's bindings.
type SwapKeyMap struct {
	Swap, SwapOnly, Candidate, Once, Close key.Binding
}

// DefaultSwapKeyMap returns the swap dialog bindings.
func DefaultSwapKeyMap() SwapKeyMap {
	return SwapKeyMap{
		Swap:      key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "swap and reconnect now")),
		SwapOnly:  key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "swap, reconnect later")),
		Candidate: key.NewBinding(key.WithKeys("ctrl+n"), key.WithHelp("ctrl+n", "next candidate")),
		Once:      key.NewBinding(key.WithKeys("ctrl+o"), key.WithHelp("ctrl+o", "once / until cleared")),
		Close:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}
}

func newSwapper(st theme.Styles) swapper {
	in := newInput(st, "token ", "paste a JWT, or ctrl+n for a candidate")
	in.EchoMode = textinput.EchoPassword // a secret: what it says is shown decoded below
	in.CharLimit = 1 << 16
	return swapper{keys: DefaultSwapKeyMap(), input: in}
}

// start opens the dialog with the connection's candidates.
func (s *swapper) start(cands []SwapCandidate) tea.Cmd {
	s.open, s.cands, s.next, s.label = true, cands, 0, ""
	s.input.SetValue("")
	return s.input.Focus()
}

func (s *swapper) close() {
	s.open = false
	s.input.SetValue("") // the token is a secret: not kept
	s.dec, s.decFor, s.cands = DecodedToken{}, "", nil
	s.input.Blur()
}

// swapRequest is a swap the user confirmed.
type swapRequest struct {
	token           string
	once, reconnect bool
}

// Update handles a key while the dialog is open; a non-nil request means
// swap now.
func (s *swapper) Update(msg tea.KeyPressMsg) (tea.Cmd, *swapRequest) {
	switch {
	case key.Matches(msg, s.keys.Close):
		s.close()
		return nil, nil
	case key.Matches(msg, s.keys.Swap), key.Matches(msg, s.keys.SwapOnly):
		tok := strings.TrimSpace(s.input.Value())
		if tok == "" {
			return nil, nil
		}
		req := &swapRequest{token: tok, once: s.once, reconnect: key.Matches(msg, s.keys.Swap)}
		s.close()
		return nil, req
	case key.Matches(msg, s.keys.Candidate):
		if len(s.cands) > 0 {
			c := s.cands[s.next%len(s.cands)]
			s.next++
			s.input.SetValue(c.Token)
			s.label = c.Label
		}
		return nil, nil
	case key.Matches(msg, s.keys.Once):
		s.once = !s.once
		return nil, nil
	}
	before := s.input.Value()
	var cmd tea.Cmd
	s.input, cmd = s.input.Update(msg)
	if s.input.Value() != before {
		s.label = "" // typed or pasted: no longer the candidate
	}
	return cmd, nil
}

// decode refreshes the decoded view of the input.
func (s *swapper) decode(ts TokenSwapper) {
	v := strings.TrimSpace(s.input.Value())
	if v == s.decFor {
		return
	}
	s.decFor, s.dec = v, DecodedToken{}
	if v != "" {
		s.dec = ts.DecodeToken(v)
	}
}

// swapperView renders the open dialog into width×height cells.
func swapperView(st theme.Styles, s *swapper, now time.Time, width, height int) string {
	lines := []string{
		fit(st.TitleFocused.Render("Swap the token")+st.Muted.Render(" · used for HTTP and the next (re)connect instead of the auth provider's answer"), width),
	}
	s.input.SetWidth(max(width-8, 10))
	lines = append(lines, fit(s.input.View(), width))
	src := ""
	switch {
	case s.label != "":
		src = "candidate: " + s.label
	case s.input.Value() != "":
		src = "pasted"
	}
	mode := "until cleared (S in the Token view)"
	if s.once {
		mode = "for the next connection attempt only"
	}
	lines = append(lines,
		fit(safeIn(&st, st.Muted, "  "+src), width),
		fit(st.Label.Render("  use ")+st.Value.Render(mode)+st.Muted.Render("  (ctrl+o toggles)"), width),
		"")
	if s.decFor != "" {
		lines = append(lines, decodedLines(st, s.dec, now, width)...)
	} else if len(s.cands) > 0 {
		lines = append(lines, st.Label.Render("candidates (ctrl+n):"))
		for _, c := range s.cands {
			lines = append(lines, fit(safeIn(&st, st.Muted, "  · "+c.Label), width))
		}
	}
	return box(lines, width, height)
}

// decodedLines shows what a token says, the way `kalamdash token decode`
// prints it: kind, expiry, every claim and what is wrong with it.
func decodedLines(st theme.Styles, d DecodedToken, now time.Time, width int) []string {
	lines := []string{st.Label.Render("decoded") + st.Warn.Render(" signature NOT verified") + st.Muted.Render(" · fp "+d.Fingerprint)}
	if !d.Valid {
		return append(lines, fit(safeIn(&st, st.Err, "  "+d.Error), width))
	}
	lines = append(lines, fit(safeIn(&st, st.Value, "  "+d.KindNote), width))
	if !d.ExpiresAt.IsZero() {
		when := "expires in " + countdown(d.ExpiresAt.Sub(now))
		style := st.OK
		if rem := d.ExpiresAt.Sub(now); rem < 0 {
			when, style = "expired "+countdown(-rem)+" ago", st.Err
		}
		lines = append(lines, fit("  "+style.Render(when)+st.Muted.Render(" (at "+clockTime(d.ExpiresAt)+")"), width))
	}
	kv := func(f TokenField) string {
		return st.Label.Render(safe(&st, f.Name)+" ") + safeIn(&st, st.Value, f.Value)
	}
	var head, claims []string
	for _, f := range d.Header {
		head = append(head, kv(f))
	}
	for _, f := range d.Claims {
		claims = append(claims, kv(f))
	}
	lines = append(lines, "  "+st.Muted.Render("header ")+joinFit(head, "  ", width-9))
	// Claims wrap over as many lines as they need, a claim never split.
	lines = append(lines, "  "+st.Muted.Render("claims"))
	for len(claims) > 0 {
		row, used := "", 0
		for used < len(claims) {
			next := row
			if next != "" {
				next += "  "
			}
			next += claims[used]
			if used > 0 && cellWidth(next) > width-4 {
				break
			}
			row = next
			used++
		}
		lines = append(lines, fit("    "+row, width))
		claims = claims[used:]
	}
	for _, p := range d.Problems {
		lines = append(lines, fit(safeIn(&st, st.Warn, "  ⚠ "+p), width))
	}
	return lines
}

// swapCmd swaps a token on c in the background.
func swapCmd(c Conn, ts TokenSwapper, r swapRequest) tea.Cmd {
	what := "swap token (until cleared)"
	if r.once {
		what = "swap token (next attempt only)"
	}
	if r.reconnect {
		what += " and reconnect"
	}
	return actionCmd(c, what, func(ctx context.Context) error { return ts.SwapToken(ctx, r.token, r.once, r.reconnect) })
}

// swapLine describes an active swap for the Token view (the access
// countdown above it is the swapped token's: it is the one in use).
func swapLine(st theme.Styles, sw *TokenSwapInfo, width int) string {
	mode := "until cleared (S clears)"
	if sw.Once {
		mode = "for the next connection attempt only"
	}
	sub := sw.Subject
	if sub == "" {
		sub = "-"
	}
	text := fmt.Sprintf("token %s (%s, sub %s) in place of the provider's, %s", sw.Fingerprint, sw.Kind, sub, mode)
	return fit(st.BadgeWarn.Render("SWAPPED")+" "+safeIn(&st, st.Warn, text), width)
}

// swapperOf returns the tab's TokenSwapper, or says why there is none.
func (m *Model) swapperOf(t *tab) (TokenSwapper, bool) {
	if t.can.swapper == nil {
		m.unavailable("swapping tokens", false)
		return nil, false
	}
	return t.can.swapper, true
}

// openSwapper opens the swap dialog with the connection's candidates.
func (m *Model) openSwapper(t *tab) tea.Cmd {
	ts, ok := m.swapperOf(t)
	if !ok {
		return nil
	}
	return t.swap.start(ts.SwapCandidates())
}

// clearSwap ends the connection's token swap.
func (m *Model) clearSwap(t *tab) tea.Cmd {
	ts, ok := m.swapperOf(t)
	if !ok {
		return nil
	}
	if t.snap.Token.Swap == nil {
		m.say(false, "no token is swapped in (s swaps one)")
		return nil
	}
	return actionCmd(t.conn, "clear the token swap (the provider's credentials are back)", ts.ClearSwap)
}

// swapperKey hands a key to the open swap dialog.
func (m *Model) swapperKey(t *tab, msg tea.KeyPressMsg) tea.Cmd {
	ts, ok := m.swapperOf(t)
	if !ok {
		t.swap.close()
		return nil
	}
	cmd, req := t.swap.Update(msg)
	if req != nil {
		m.say(false, "swapping the token in…")
		return swapCmd(t.conn, ts, *req)
	}
	t.swap.decode(ts)
	return cmd
}
