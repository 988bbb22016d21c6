package ui

import (
	"errors"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/kalamdash/kalamdash/redact"
	"github.com/kalamdash/kalamdash/theme"
)

// watchedStub is a tab watching an application through kalamdash proxy:
// looked at and steered, nothing else (no Controls, no SQL).
type watchedStub struct {
	snap  Snapshot
	log   *stubLog
	calls []string
	drop  error
}

func (w *watchedStub) ID() string          { return "app-1" }
func (w *watchedStub) Snapshot() Snapshot  { return w.snap }
func (w *watchedStub) Frames() FrameSource { return w.log }
func (w *watchedStub) Close() error        { return nil }

func (w *watchedStub) CompressOffNext() (string, error) {
	w.calls = append(w.calls, "compress")
	return "compress=false on the next socket", nil
}

func (w *watchedStub) DropSocket() (string, error) {
	w.calls = append(w.calls, "drop")
	if w.drop != nil {
		return "", w.drop
	}
	return "dropped socket #1: the app should reconnect", nil
}

func (w *watchedStub) ToggleStall() (string, error) {
	w.calls = append(w.calls, "stall")
	return "stalled", nil
}

func (w *watchedStub) NextLatency() (string, error) {
	w.calls = append(w.calls, "latency")
	return "250ms added", nil
}

// waitingModel is the kalamdash proxy dashboard before any application
// connects: no login form, a line saying where to point the application;
// w×h, no-colour theme, fixed clock, no ticks.
func waitingModel(t *testing.T, w, h int) Model {
	t.Helper()
	clk := &testClock{t: stubEpoch}
	b := newStubBackend(clk.now)
	b.redact = redact.Text
	m := New(b, WithStyles(theme.NoColor(), true), WithClock(clk.now), WithoutTicks(),
		WithoutLogin("point your app at http://127.0.0.1:8081"))
	return drive(m, tea.WindowSizeMsg{Width: w, Height: h})
}

// TestProxyDashboardOpensWatchedTabs: without the login form the
// dashboard waits, saying where to point the application; the backend's
// EventOpened makes a tab named after the application (its hostile user
// name drawn inertly); the steering keys act on it, say what happened,
// and are listed in the help.
func TestProxyDashboardOpensWatchedTabs(t *testing.T) {
	m := waitingModel(t, 110, 30)
	requireContains(t, m, "point your app at http://127.0.0.1:8081", "n opens a connection of your own")
	requireNotContains(t, m, "server URL")
	// n opens the login form for a connection of one's own; esc goes back
	// to waiting.
	m = drive(m, keyPress("n"))
	requireContains(t, m, "server URL")
	m = drive(m, keyPress("esc"))
	requireContains(t, m, "point your app at http://127.0.0.1:8081")

	w := &watchedStub{log: &stubLog{}, snap: Snapshot{Name: "127.0.0.1:50412 eve\x1b]0;PWNED\x07\x1b[31m", State: "connected",
		URL: "http://127.0.0.1:8080", User: "eve", Token: Token{Kind: "observed"}}}
	w.log.add(textFrame(stubEpoch, "in", "auth_success", "", `{"type":"auth_success","user":"eve"}`))
	m = drive(m, eventsMsg{{ConnID: "app-1", Kind: EventOpened, Conn: w}})
	if len(m.tabs) != 1 || m.loggingIn {
		t.Fatalf("EventOpened: %d tabs, login form %v", len(m.tabs), m.loggingIn)
	}
	requireContains(t, m, "127.0.0.1:50412 eve␛]0;PWNED", "auth_success")
	if v := m.View(); strings.ContainsAny(v.Content, "\x07") || strings.Contains(v.Content, "\x1b]0;") || strings.Contains(v.WindowTitle, "\x07") {
		t.Fatalf("the user name's controls reached the terminal: %q / %q", v.Content, v.WindowTitle)
	}
	// The same connection announced again opens no second tab.
	m = drive(m, eventsMsg{{ConnID: "app-1", Kind: EventOpened, Conn: w}})
	if len(m.tabs) != 1 {
		t.Fatalf("%d tabs after a repeated EventOpened", len(m.tabs))
	}

	for _, k := range []string{"C", "D", "Z", "T"} {
		m = drive(m, keyPress(k))
	}
	if got := strings.Join(w.calls, " "); got != "compress drop stall latency" {
		t.Fatalf("steering calls %q", got)
	}
	requireContains(t, m, "250ms added")
	w.drop = errors.New("the application has no open socket to drop")
	m = drive(m, keyPress("D"))
	requireContains(t, m, "the application has no open socket to drop")

	// Read-only: the token panel's refresh keys and the SQL console are
	// not offered.
	m = drive(m, keyPress("2"), keyPress("R"))
	requireContains(t, m, "not available: this connection is read-only")
	m = drive(m, keyPress("3"))
	requireContains(t, m, "none on this connection: it is read-only")

	m = drive(m, keyPress("?"))
	requireContains(t, m, "app (kalamdash proxy)", "app: drop its socket", "app: stall/resume traffic")

	// The application's socket closed with a reason its server chose:
	// the tab stays, disconnected, and the reason is drawn inertly.
	w.snap.State, w.snap.CloseCode, w.snap.CloseReason = "disconnected", 4000, "bye\x1b]0;PWNED\x07\x1b[2J"
	w.snap.LastError = "closed: " + w.snap.CloseReason
	m = drive(m, keyPress("esc"), keyPress("1"), eventsMsg{{ConnID: "app-1", Kind: EventState}})
	m.notice = notice{}
	requireContains(t, m, "closed: bye␛]0;PWNED", "○")
	if v := m.View().Content; strings.ContainsAny(v, "\x07") || strings.Contains(v, "\x1b]0;") || strings.Contains(v, "\x1b[2J") {
		t.Fatalf("the close reason's controls reached the terminal: %q", v)
	}
}

// TestSteeringKeysOnlyOnWatchedTabs: a connection of our own has no
// steering: the keys say so and the help leaves them out.
func TestSteeringKeysOnlyOnWatchedTabs(t *testing.T) {
	m, _, _ := loggedIn(t, 110, 30)
	m = drive(m, keyPress("D"))
	requireContains(t, m, "works only on an application watched through kalamdash proxy")
	m = drive(m, keyPress("?"))
	requireNotContains(t, m, "app (kalamdash proxy)", "app: stall/resume traffic")
}
