package ui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
)

func ctrl(r rune) tea.KeyPressMsg { return tea.KeyPressMsg{Code: r, Mod: tea.ModCtrl} }

// TestComposerSendsATemplateAndJumpsToTheAnswer: w opens the composer on
// a template KalamDB parses, ctrl+s sends it, the frame sent is selected
// and marked composed, and a selects the server's answer.
func TestComposerSendsATemplateAndJumpsToTheAnswer(t *testing.T) {
	m, _, _ := loggedIn(t, 120, 40)
	m = drive(m, keyPress("w"))
	requireContains(t, m, "Compose a frame", "template: subscribe with every option", `"batch_size": 100`, "✓ a subscribe message KalamDB will parse")
	requireFits(t, "composer", m.View().Content, 120, 40)
	m = drive(m, ctrl('s'))
	if m.tabs[0].comp.open {
		t.Fatalf("composer still open after sending:\n%s", screen(m))
	}
	sent, ok := m.tabs[0].insp.selected()
	if !ok || !sent.Composed || sent.Type != "subscribe" {
		t.Fatalf("selected %+v, want the composed subscribe", sent)
	}
	requireContains(t, m, "✎ subscribe", "sent as frame #")
	m = drive(m, keyPress("a"))
	if f, _ := m.tabs[0].insp.selected(); f.Type != "subscription_ack" || f.Sub != sent.Sub {
		t.Fatalf("a selected %+v, want the ack of %q", f, sent.Sub)
	}
	requireContains(t, m, "answers #")
}

// TestComposerWarnsAndStillSendsWhatKalamDBRefuses: text KalamDB cannot
// parse gets a warning, not a refusal; the answer is the 1011 close.
func TestComposerWarnsAndStillSendsWhatKalamDBRefuses(t *testing.T) {
	m, _, _ := loggedIn(t, 120, 40)
	m = drive(m, keyPress("w"), ctrl('x'))
	m = driveText(m, `{"type":"hello"}`)
	requireContains(t, m, `unknown type "hello"`, "closes the socket with 1011", "sends it anyway")
	m = drive(m, ctrl('s'), keyPress("a"))
	requireContains(t, m, "close 1011 Invalid message: unknown variant `hello`")

	m = drive(m, keyPress("w"), ctrl('x'))
	m = driveText(m, `{"type":"subscribe"`)
	requireContains(t, m, "not valid JSON")
}

func TestCheckFrameReadsTextAsKalamDBDoes(t *testing.T) {
	cases := map[string]string{
		``:                     "empty",
		`[1]`:                  "not an object",
		`{"id":1}`:             `no "type"`,
		`{"type":5}`:           `"type" is not a string`,
		`{"type":"subscribe"}`: "subscription.id and subscription.sql",
		`{"type":"next_batch","subscription_id":"a","last_seq_id":"9"}`: "must be a number",
		`{"type":"authenticate","method":"jwt","token":"x"}`:            "missing field `protocol`",
		`{"type":"ping"}`: "a ping message KalamDB will parse",
	}
	for text, want := range cases {
		if got := checkFrame(text); !strings.Contains(got.text, want) {
			t.Errorf("%q: %q, want %q", text, got.text, want)
		}
	}
}

// TestResendKeepsSecretsRedactedUnlessConfirmed: r loads an outbound
// frame redacted; with secrets revealed it asks first, and only y loads
// the secret in clear.
func TestResendKeepsSecretsRedactedUnlessConfirmed(t *testing.T) {
	m, b, _ := loggedIn(t, 120, 40)
	const secret = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJl"
	c := b.conns[0]
	c.log.add(textFrame(c.now(), "out", "authenticate", "", `{"type":"authenticate","method":"jwt","token":"`+secret+`","protocol":{"serialization":"json","compression":"gzip"}}`))
	m = drive(m, keyPress("G"), keyPress("r"))
	text := m.tabs[0].comp.area.Value()
	if strings.Contains(text, secret) || !strings.Contains(text, "«redacted»") {
		t.Fatalf("resend loaded %q, want the token redacted", text)
	}
	requireContains(t, m, "resend of #", "holds «redacted» where a secret was")
	m = drive(m, keyPress("esc"), ctrl('r'), keyPress("r"))
	requireContains(t, m, "holds a secret", "y loads it as sent")
	m = drive(m, keyPress("n"))
	if strings.Contains(m.tabs[0].comp.area.Value(), secret) {
		t.Fatal("n loaded the secret in clear")
	}
	m = drive(m, keyPress("esc"), keyPress("r"), keyPress("y"))
	if !strings.Contains(m.tabs[0].comp.area.Value(), secret) {
		t.Fatal("y did not load the frame as sent")
	}

	// An inbound frame is not resent.
	m = drive(m, keyPress("esc"), keyPress("g"), keyPress("j"), keyPress("j"), keyPress("r"))
	requireContains(t, m, "r resends an outbound text frame")
}

// readOnly is a connection with only the read-only core (a recording).
type readOnly struct{ Conn }

func TestReadOnlyConnectionCannotComposeOrSwap(t *testing.T) {
	m, _, _ := loggedIn(t, 120, 40)
	tb := m.tabs[0]
	tb.conn = readOnly{tb.conn}
	tb.can = capabilitiesOf(tb.conn)
	tb.insp.keys = tb.can.inspectorKeys(tb.insp.keys)
	m = drive(m, keyPress("w"))
	requireContains(t, m, "compose is not available: this connection is read-only")
	if tb.comp.open {
		t.Fatal("the composer opened on a read-only connection")
	}
	m = drive(m, keyPress("2"))
	requireNotContains(t, m, "s swap token")
	m = drive(m, keyPress("s"))
	requireContains(t, m, "swap token is not available")
	if tb.swap.open {
		t.Fatal("the swap dialog opened on a read-only connection")
	}
}

// TestSwapDialogDecodesBeforeUse: s opens the swap dialog, a candidate is
// shown decoded (unverified) before it is used, enter swaps and
// reconnects, the Token view shows the swap and the server's refusal, and
// S clears it.
func TestSwapDialogDecodesBeforeUse(t *testing.T) {
	m, _, _ := loggedIn(t, 120, 40)
	m = drive(m, keyPress("2"), keyPress("s"))
	requireContains(t, m, "Swap the token", "candidates (ctrl+n)", "expired copy of the current token")
	m = drive(m, ctrl('n'))
	requireContains(t, m, "signature NOT verified", "an access token", "expired", `sub "admin"`)
	requireFits(t, "swap dialog", m.View().Content, 120, 40)
	m = drive(m, ctrl('n'))
	requireContains(t, m, "not a decodable JWT")
	m = drive(m, ctrl('n'), keyPress("enter"))
	requireContains(t, m, "SWAPPED", "e0e0e0e0", "until cleared", "reconnect·swap", "failed: connect: server refused the token")
	if m.tabs[0].swap.input.Value() != "" {
		t.Error("the dialog kept the token after the swap")
	}
	m = drive(m, keyPress("S"))
	requireNotContains(t, m, "SWAPPED")
	requireContains(t, m, "swap cleared")
}

// TestPokeViewsFitSmallTerminals: the composer and the swap dialog keep
// the screen's size at the minimum terminal size.
func TestPokeViewsFitSmallTerminals(t *testing.T) {
	m, _, _ := loggedIn(t, minWidth, minHeight)
	m = drive(m, keyPress("w"))
	requireFits(t, "composer", m.View().Content, minWidth, minHeight)
	m = drive(m, keyPress("esc"), keyPress("2"), keyPress("s"), ctrl('n'))
	requireFits(t, "swap dialog", m.View().Content, minWidth, minHeight)
}
