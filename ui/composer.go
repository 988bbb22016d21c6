package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textarea"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/kalamdash/kalamdash/theme"
)

// composer is the frame composer: a multi-line editor whose text is sent,
// exactly as typed, as one text frame on the connection's socket. It reads
// the text the way KalamDB will and warns — never refuses — about what the
// server will not accept: KalamDB closes the socket with 1011 "Invalid
// message" for text it cannot parse (jamals86/KalamDB
// backend/crates/kalamdb-api/src/ws/runtime.rs), and the point of a
// composer is to be able to see that happen.
type composer struct {
	keys  ComposerKeyMap
	open  bool
	area  textarea.Model
	tmpl  int    // the next template ctrl+t inserts
	title string // where the text came from: "new frame", "resend of #12"
	// confirm holds text with a secret in clear, waiting for y/n before
	// it is loaded (resend of a frame while secrets are revealed);
	// confirmMasked is the same text with its secrets masked (for n).
	confirm, confirmMasked string
	sending                bool
}

// ComposerKeyMap holds the composer's own bindings (the editor's keys are
// the textarea's).
type ComposerKeyMap struct {
	Send, Template, Clear, Close key.Binding
}

// DefaultComposerKeyMap returns the composer bindings.
func DefaultComposerKeyMap() ComposerKeyMap {
	return ComposerKeyMap{
		Send:     key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "send")),
		Template: key.NewBinding(key.WithKeys("ctrl+t"), key.WithHelp("ctrl+t", "next template")),
		Clear:    key.NewBinding(key.WithKeys("ctrl+x"), key.WithHelp("ctrl+x", "clear")),
		Close:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close (keeps the draft)")),
	}
}

func newComposer(st theme.Styles) composer {
	a := textarea.New()
	a.ShowLineNumbers = true
	a.Prompt = ""
	a.Placeholder = "a frame to send as typed (ctrl+t inserts a template)"
	a.CharLimit = 0
	a.MaxHeight = 0
	// ctrl+t cycles templates here; transposing characters is not missed.
	a.KeyMap.TransposeCharacterBackward.SetEnabled(false)
	a.SetStyles(areaStyles(st))
	return composer{keys: DefaultComposerKeyMap(), area: a}
}

// areaStyles styles the composer's editor from the theme. As with the
// text inputs (newInput), the cursor does not blink.
func areaStyles(st theme.Styles) textarea.Styles {
	s := textarea.DefaultStyles(st.IsDark)
	s.Focused.Text, s.Focused.Placeholder, s.Focused.LineNumber = st.Input, st.Muted, st.Muted
	s.Blurred.Text, s.Blurred.Placeholder, s.Blurred.LineNumber = st.Muted, st.Muted, st.Muted
	s.Cursor.Blink = false
	s.Cursor.Color = cursorColour(st)
	return s
}

// start opens the composer with text (kept as the draft when empty).
func (c *composer) start(title, text string) tea.Cmd {
	c.open, c.title, c.confirm, c.sending = true, title, "", false
	if text != "" {
		c.area.SetValue(text)
	}
	return c.area.Focus()
}

// close hides the composer; the draft stays for the next time.
func (c *composer) close() {
	c.open, c.confirm, c.confirmMasked = false, "", ""
	c.area.Blur()
}

// composerResult is what a key did in the composer.
type composerResult struct {
	cmd  tea.Cmd
	send string // non-empty: send this text
}

// Update handles a key while the composer is open.
func (c *composer) Update(msg tea.KeyPressMsg, templates []frameTemplate) composerResult {
	if c.confirm != "" {
		switch msg.String() {
		case "y", "Y":
			c.area.SetValue(c.confirm)
		default:
			c.area.SetValue(c.confirmMasked)
		}
		c.confirm, c.confirmMasked = "", ""
		return composerResult{}
	}
	switch {
	case key.Matches(msg, c.keys.Close):
		c.close()
		return composerResult{}
	case key.Matches(msg, c.keys.Send):
		if c.sending {
			return composerResult{}
		}
		c.sending = true
		return composerResult{send: c.area.Value()}
	case key.Matches(msg, c.keys.Clear):
		c.area.SetValue("")
		c.title = "new frame"
		return composerResult{}
	case key.Matches(msg, c.keys.Template):
		if len(templates) > 0 {
			t := templates[c.tmpl%len(templates)]
			c.tmpl++
			c.area.SetValue(t.text)
			c.title = "template: " + t.name
		}
		return composerResult{}
	}
	var cmd tea.Cmd
	c.area, cmd = c.area.Update(msg)
	return composerResult{cmd: cmd}
}

// frameTemplate is a client message KalamDB knows, ready to edit.
type frameTemplate struct{ name, text string }

// knownClientTypes are the client message types KalamDB parses
// (WebSocketMessage in jamals86/KalamDB
// backend/crates/kalamdb-commons/src/websocket.rs; protocol reference 3.5).
var knownClientTypes = []string{"authenticate", "subscribe", "next_batch", "unsubscribe", "ping"}

// frameTemplates returns a template for every client message KalamDB
// knows, filled from the connection's first subscription when it has one.
func frameTemplates(subs []Sub) []frameTemplate {
	id, sql := "poke-1", "SELECT * FROM demo.metrics"
	var liveID string
	var lastSeq int64
	if len(subs) > 0 {
		sql, liveID, lastSeq = subs[0].SQL, subs[0].ID, subs[0].LastSeq
	}
	if liveID == "" {
		liveID = id
	}
	pretty := func(v any) string {
		b, _ := json.MarshalIndent(v, "", "  ")
		return string(b)
	}
	type sub struct {
		ID      string         `json:"id"`
		SQL     string         `json:"sql"`
		Options map[string]any `json:"options,omitempty"`
	}
	subscribe := func(o map[string]any) string {
		return pretty(struct {
			Type         string `json:"type"`
			Subscription sub    `json:"subscription"`
		}{"subscribe", sub{id, sql, o}})
	}
	return []frameTemplate{
		{"subscribe with every option (from wins over last_rows, which wins over batching)",
			subscribe(map[string]any{"batch_size": 100, "last_rows": 10, "from": lastSeq})},
		{"subscribe, first page only (batch_size)", subscribe(map[string]any{"batch_size": 2})},
		{"subscribe with options {} (initial data with defaults)", subscribe(map[string]any{})},
		{"subscribe without options (ack only, no initial data)", subscribe(nil)},
		{"next_batch", pretty(map[string]any{"type": "next_batch", "subscription_id": id, "last_seq_id": lastSeq})},
		{"unsubscribe (no acknowledgement comes back)", pretty(map[string]any{"type": "unsubscribe", "subscription_id": liveID})},
		{"ping (nothing comes back)", `{"type":"ping"}`},
		{"authenticate (on a live socket: answered auth_success, not re-checked)",
			pretty(map[string]any{"type": "authenticate", "method": "jwt", "token": "PASTE-A-JWT",
				"protocol": map[string]string{"serialization": "json", "compression": "gzip"}})},
	}
}

// frameCheck is what KalamDB will make of a text, in one line: ok means
// the server will parse it; otherwise text is the warning.
type frameCheck struct {
	ok   bool
	text string
}

// checkFrame reads text as KalamDB's WebSocket handler will.
func checkFrame(text string) frameCheck {
	const closes = ": KalamDB closes the socket with 1011 \"Invalid message\""
	if strings.TrimSpace(text) == "" {
		return frameCheck{text: "empty" + closes}
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return frameCheck{text: fmt.Sprintf("not valid JSON (%s at byte %d)%s", se.Error(), se.Offset, closes)}
		case errors.As(err, &te):
			return frameCheck{text: "JSON, but not an object" + closes}
		}
		return frameCheck{text: "not valid JSON (" + err.Error() + ")" + closes}
	}
	raw, ok := m["type"]
	if !ok {
		return frameCheck{text: "no \"type\"" + closes + " (missing field `type`)"}
	}
	var typ string
	if json.Unmarshal(raw, &typ) != nil {
		return frameCheck{text: "\"type\" is not a string" + closes}
	}
	known := false
	for _, k := range knownClientTypes {
		known = known || k == typ
	}
	if !known {
		return frameCheck{text: fmt.Sprintf("unknown type %q%s (it knows %s)", typ, closes, strings.Join(knownClientTypes, ", "))}
	}
	switch typ {
	case "subscribe":
		var s struct {
			Subscription *struct {
				ID  *string `json:"id"`
				SQL *string `json:"sql"`
			} `json:"subscription"`
		}
		if json.Unmarshal([]byte(text), &s) != nil || s.Subscription == nil || s.Subscription.ID == nil || s.Subscription.SQL == nil {
			return frameCheck{text: "subscribe needs subscription.id and subscription.sql (strings)" + closes}
		}
	case "next_batch":
		if v, ok := m["last_seq_id"]; ok && bytes.HasPrefix(bytes.TrimSpace(v), []byte(`"`)) {
			return frameCheck{text: "last_seq_id must be a number, not a string" + closes}
		}
	case "authenticate":
		if _, ok := m["protocol"]; !ok {
			return frameCheck{text: "authenticate needs protocol {serialization, compression}" + closes + " (missing field `protocol`)"}
		}
	}
	return frameCheck{ok: true, text: "a " + typ + " message KalamDB will parse"}
}

// holdsRedacted reports whether text holds the placeholder of a redacted
// secret, which the server would receive literally.
func holdsRedacted(text string) bool { return strings.Contains(text, "«redacted»") }

// composerView renders the open composer into width×height cells: the
// editor, what KalamDB will make of the text, and the text as the
// inspector shows frames (pretty, highlighted).
func composerView(st theme.Styles, c *composer, socket string, hide secrets, width, height int) string {
	var lines []string
	title := st.TitleFocused.Render("Compose a frame") + st.Muted.Render(" · sent as typed, one text frame on "+socket)
	if c.title != "" {
		title += safeIn(&st, st.Muted, " · "+c.title)
	}
	lines = append(lines, fit(title, width))
	if c.confirm != "" {
		lines = append(lines,
			st.Warn.Render("This frame holds a secret (a token or a password) and secrets are revealed on this tab."),
			st.Value.Render("Load it into the composer in clear? y loads it as sent · any other key loads it redacted"))
		return box(lines, width, height)
	}
	edH := clamp(height/2, 3, max(height-6, 3))
	c.area.SetWidth(max(width, 10))
	c.area.SetHeight(edH)
	lines = append(lines, strings.Split(c.area.View(), "\n")...)
	text := c.area.Value()
	chk := checkFrame(text)
	if chk.ok {
		lines = append(lines, fit(st.OK.Render("✓ ")+st.Muted.Render(chk.text), width))
	} else {
		lines = append(lines, warnLines(st, "⚠ "+chk.text+" — ctrl+s sends it anyway", width)...)
	}
	if holdsRedacted(text) {
		lines = append(lines, warnLines(st, "⚠ it holds «redacted» where a secret was: the server receives that text unless you replace it", width)...)
	}
	if rest := height - len(lines) - 1; rest > 0 && strings.TrimSpace(text) != "" {
		lines = append(lines, st.Label.Render("as the inspector will show it:"))
		doc := layoutDetail(st, jsonStyle(st), Frame{Opcode: "text", Decoded: []byte(text)}, modePretty, width, hide)
		for _, l := range doc.lines(0, rest) {
			lines = append(lines, fit(l, width))
		}
	}
	return box(lines, width, height)
}

// warnLines renders a warning wrapped at width: every word of it matters.
func warnLines(st theme.Styles, text string, width int) []string {
	var out []string
	for _, l := range strings.Split(lipgloss.Wrap(text, max(width, 1), " "), "\n") {
		out = append(out, safeIn(&st, st.Warn, l))
	}
	return out
}
