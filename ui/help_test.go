package ui

import (
	"strings"
	"testing"
)

// tokenHelp is every token-panel key's description in the full help.
var tokenHelp = []string{"refreshAuth now", "use refresh token", "cycle policy", "interval", "reconnect",
	"swap token", "clear swap", "expire token", "drop socket", "try token on all nodes"}

// TestFullHelpAt80x24ListsTheFocusedViewsKeys: at 80×24 the full help
// on the Token view lists every token key with its whole description,
// also when help was opened on another view first (the help was cached
// without the view, so the frames view's help came back on the Token
// view, token keys left out for lack of room).
func TestFullHelpAt80x24ListsTheFocusedViewsKeys(t *testing.T) {
	m, _, _ := loggedIn(t, 80, 24)
	m = drive(m, keyPress("?"))
	requireContains(t, m, "copy frame", "export jsonl")
	m = drive(m, keyPress("esc"), keyPress("2"), keyPress("?"))
	requireContains(t, m, tokenHelp...)
	requireFits(t, "token help", m.View().Content, 80, 24)
	m = drive(m, keyPress("esc"), keyPress("3"), keyPress("?"))
	requireContains(t, m, "sql console", "subscribe", "unsubscribe", "last row, follow")
	requireNotContains(t, m, "refreshAuth now")
	m = drive(m, keyPress("esc"), keyPress("1"), keyPress("?"))
	requireContains(t, m, "copy frame", "export jsonl")
	requireNotContains(t, m, "refreshAuth now")
}

// TestFullHelpAt80x24OnAWatchedApplication: on a tab watching an
// application through kalamdash proxy the steering keys are listed in
// every view, after the focused view's keys and never instead of them;
// a group whose keys are all off (the read-only tab's token keys) is left
// out rather than drawn as a title alone.
func TestFullHelpAt80x24OnAWatchedApplication(t *testing.T) {
	m := waitingModel(t, 80, 24)
	w := &watchedStub{log: &stubLog{}, snap: Snapshot{Name: "127.0.0.1:50412 eve", State: "connected",
		URL: "http://127.0.0.1:8080", User: "eve", Token: Token{Kind: "observed"}}}
	m = drive(m, eventsMsg{{ConnID: "app-1", Kind: EventOpened, Conn: w}})
	steering := []string{"app: compress off next socket", "app: drop its socket", "app: stall/resume traffic", "app: add latency (cycle)"}
	for _, tc := range []struct {
		view string
		keys []string
	}{
		{"1", []string{"copy frame", "export jsonl"}},
		{"3", []string{"switch sub", "its frames", "last row, follow"}},
		{"4", []string{"cluster"}},
	} {
		m = drive(m, keyPress("esc"), keyPress(tc.view), keyPress("?"))
		requireContains(t, m, append(tc.keys, steering...)...)
		requireFits(t, "help on view "+tc.view, m.View().Content, 80, 24)
	}
	m = drive(m, keyPress("esc"), keyPress("2"), keyPress("?"))
	requireContains(t, m, steering...)
	requireNotContains(t, m, "refreshAuth now")
	if n := strings.Count(screen(m), "token"); n != 1 {
		t.Errorf("the Token view's help reads \"token\" %d times, want once (global: 2 token), no title over no keys:\n%s", n, screen(m))
	}
}
