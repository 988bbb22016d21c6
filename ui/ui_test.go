package ui

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/kalamdash/kalamdash/theme"
)

// Goldens: ANSI-stripped screens with the no-colour theme and a fixed clock.
// Regenerate with: go test ./ui -run Golden -update

func TestGoldenLogin(t *testing.T) {
	m, _, _ := newTestModel(t, 80, 24)
	golden.RequireEqual(t, screen(m))
}

// TestGolden logs in at a size, presses keys and compares the screen with
// testdata/TestGolden/<name>.golden.
func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		w, h int
		keys []string
	}{
		{"Token", 80, 24, []string{"2"}},
		{"InspectorGzipHex", 100, 30, []string{"k", "v", "v"}},
		{"InspectorWide", 160, 48, []string{"c", "G"}},
		{"Data", 80, 24, []string{"3"}},
		{"Help", 80, 24, []string{"?"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _, _ := loggedIn(t, tc.w, tc.h)
			for _, k := range tc.keys {
				m = drive(m, keyPress(k))
			}
			golden.RequireEqual(t, screen(m))
		})
	}
}

// TestLoginOneEnter: the pre-filled form reaches the dashboard with one Enter
// and the request carries what the form showed.
func TestLoginOneEnter(t *testing.T) {
	m, b, _ := loggedIn(t, 80, 24)
	if got := b.conns[0].snap.Name; got != "admin@127.0.0.1:38080" {
		t.Errorf("tab name %q", got)
	}
	requireContains(t, m, "Frames", "DEMO SERVER", "● connected")
	requireNotContains(t, m, "secret-pw")
}

// TestLoginPasswordMasked: the password never appears on screen.
func TestLoginPasswordMasked(t *testing.T) {
	m, _, _ := newTestModel(t, 80, 24)
	requireNotContains(t, m, "secret-pw")
	requireContains(t, m, "•••••••••", "Demo server on 127.0.0.1:38080")
}

// TestLoginValidatesURL shows the problem in place, in plain words.
func TestLoginValidatesURL(t *testing.T) {
	m, _, _ := newTestModel(t, 80, 24)
	for range len("http://127.0.0.1:38080") {
		m = drive(m, tea.KeyPressMsg{Code: tea.KeyBackspace})
	}
	m = driveText(m, "ftp://x")
	m = drive(m, keyPress("enter"))
	if !m.loggingIn {
		t.Fatal("a bad URL was submitted")
	}
	requireContains(t, m, "must start with http://")
}

// TestLoginServerErrorInPlace shows a backend error and its hint on the form.
func TestLoginServerErrorInPlace(t *testing.T) {
	m, b, _ := newTestModel(t, 80, 24)
	b.openErr = stubHintErr{msg: "wrong user or password", hint: "check the password, or log in as another user"}
	m = drive(m, keyPress("enter"))
	if !m.loggingIn {
		t.Fatal("left the login form after an error")
	}
	requireContains(t, m, "wrong user or password", "check the password")
}

// TestLoginAuthModes cycles the auth mode: JWT shows a token field, none
// hides the credentials, and an empty JWT is refused in place.
func TestLoginAuthModes(t *testing.T) {
	m, _, _ := newTestModel(t, 80, 24)
	m = drive(m, keyPress("down"), keyPress("right")) // url → auth; password → jwt
	requireContains(t, m, "  token")
	requireNotContains(t, m, "  user ", "•••")
	m = drive(m, keyPress("enter"))
	requireContains(t, m, "paste a JWT")
	m = drive(m, keyPress("right")) // jwt → none
	m = drive(m, keyPress("enter"))
	if m.loggingIn {
		t.Fatalf("auth none did not connect:\n%s", screen(m))
	}
}

// TestCountdownMoves: the tick re-reads time and the countdown changes.
func TestCountdownMoves(t *testing.T) {
	m, _, clk := loggedIn(t, 80, 24)
	m = drive(m, keyPress("2"))
	requireContains(t, m, "in 0:25")
	clk.advance(3 * time.Second)
	m = drive(m, tickMsg(clk.t))
	requireContains(t, m, "in 0:22")
	clk.advance(30 * time.Second)
	m = drive(m, tickMsg(clk.t))
	requireContains(t, m, "expired 0:08 ago")
}

// TestRefreshAddsRotation: R runs refreshAuth and a new rotation row shows.
func TestRefreshAddsRotation(t *testing.T) {
	m, _, _ := loggedIn(t, 100, 30)
	m = drive(m, keyPress("2"))
	requireContains(t, m, "Rotations 4")
	m = drive(m, keyPress("R"))
	requireContains(t, m, "Rotations 5", "12:00:00 manual", "3fa9c1d2→5eed0001")
	m = drive(m, keyPress("u"))
	requireContains(t, m, "Rotations 6", "refresh-token")
}

// TestPolicyKeys cycle the policy and change its interval.
func TestPolicyKeys(t *testing.T) {
	m, b, _ := loggedIn(t, 100, 30)
	m = drive(m, keyPress("2"), keyPress("p"))
	if got := b.conns[0].snap.Policy.Kind; got != "manual" {
		t.Fatalf("policy after p = %q, want manual", got)
	}
	m = drive(m, keyPress("p"))
	if p := b.conns[0].snap.Policy; p.Kind != "periodic" || p.Interval != 30*time.Second {
		t.Fatalf("policy after p p = %+v", p)
	}
	m = drive(m, keyPress("+"))
	if p := b.conns[0].snap.Policy; p.Interval != time.Minute {
		t.Fatalf("interval after + = %v", p.Interval)
	}
	requireContains(t, m, "periodic every 1m0s")
}

// TestDemoFaultKeys: x and X reach the backend and the state shows it.
func TestDemoFaultKeys(t *testing.T) {
	m, _, _ := loggedIn(t, 100, 30)
	m = drive(m, keyPress("2"), keyPress("x"))
	requireContains(t, m, "DEAD")
	m = drive(m, keyPress("X"))
	requireContains(t, m, "reconnecting in 0:02 (attempt 1)", "close 1006")
}

// TestReadOnlyConnection: a connection with none of the optional
// interfaces (a recording) still shows its frames, token and data; the
// keys of what it lacks leave the help, the footer and the token panel,
// and pressing one (or its palette command) says why instead of acting.
func TestReadOnlyConnection(t *testing.T) {
	m, b, _ := newTestModel(t, 140, 40)
	b.readOnly = true
	m = drive(m, keyPress("enter"))
	if len(m.tabs) != 1 {
		t.Fatalf("login did not open a tab:\n%s", screen(m))
	}
	requireContains(t, m, "authenticate", "subscription_ack") // frames are there
	requireNotContains(t, m, "toggle gzip")
	m = drive(m, keyPress("2"))
	requireContains(t, m, "Rotations 4")
	requireNotContains(t, m, "refreshAuth now", "use refresh token", "cycle policy", "demo server:", "expire token")
	for k, says := range map[string]string{
		"R": "refreshAuth now is not available: this connection is read-only",
		"u": "use refresh token is not available", "p": "cycle policy is not available", "+": "interval is not available",
		"c": "toggle gzip is not available",
		"x": "expire token works only against the embedded demo server", "X": "drop socket works only against",
	} {
		before := b.conns[0].snap
		m = drive(m, keyPress(k))
		requireContains(t, m, says)
		if !reflect.DeepEqual(b.conns[0].snap, before) {
			t.Fatalf("%s changed the read-only connection", k)
		}
	}
	m = drive(m, keyPress("3"), keyPress("s"))
	requireContains(t, m, "subscribe is not available: this connection is read-only")
	m = drive(m, keyPress("tab"), keyPress("enter"))
	if m.tabs[0].data.editing {
		t.Fatal("the SQL console opened on a read-only connection")
	}
	m = drive(m, keyPress(":"))
	m = driveText(m, "sql SELECT 1")
	m = drive(m, keyPress("enter"))
	requireContains(t, m, ":sql is not available")
	m = drive(m, keyPress("?"))
	requireContains(t, m, "frames", "copy frame")
	requireNotContains(t, m, "refreshAuth now", "toggle gzip", "sql console", "unsubscribe", "expire token", "drop socket")
}

// TestCompressionKeySwitchesToText: c reconnects with compress=false; the
// list shows the close, then text frames whose raw JSON is readable.
func TestCompressionKeySwitchesToText(t *testing.T) {
	m, b, _ := loggedIn(t, 100, 30)
	requireContains(t, m, "binary", " gz ")
	m = drive(m, keyPress("c"))
	if !b.conns[0].snap.NoCompress {
		t.Fatal("compression not switched off")
	}
	requireContains(t, m, "json plain", "close 1000", `"change_type": "update"`)
	m = drive(m, keyPress("v")) // raw
	requireContains(t, m, `{"type":"change","subscription_id":"events","change_type":"update"`)
	m = drive(m, keyPress("c"))
	requireContains(t, m, "json gzip")
}

// TestRawViewOfBinaryFrame explains that gzip frames are binary.
func TestRawViewOfBinaryFrame(t *testing.T) {
	m, _, _ := loggedIn(t, 100, 30)
	m = drive(m, keyPress("k"), keyPress("v"))
	requireContains(t, m, "binary frame (gzip+json", "press c to reconnect with compress=false")
	m = drive(m, keyPress("v"))
	requireContains(t, m, "00000000  1f 8b 08") // gzip magic in the hex dump
}

// TestFilterTextRegexAndToggles drives / filtering, d and t.
func TestFilterTextRegexAndToggles(t *testing.T) {
	m, _, _ := loggedIn(t, 100, 30)
	requireContains(t, m, "Frames 14")
	m = drive(m, keyPress("/"))
	m = driveText(m, "auth")
	m = drive(m, keyPress("enter"))
	requireContains(t, m, "Frames 3", `filter "auth"`)
	requireNotContains(t, m, "ping")
	m = drive(m, keyPress("esc"))
	requireContains(t, m, "Frames 14")

	m = drive(m, keyPress("/"), tea.KeyPressMsg{Code: 'r', Mod: tea.ModCtrl})
	m = driveText(m, "^(ping|subscribe)")
	m = drive(m, keyPress("enter"))
	requireContains(t, m, "Frames 3", "filter /^(ping|subscribe)/")
	m = drive(m, keyPress("esc"))

	m = drive(m, keyPress("/"), tea.KeyPressMsg{Code: 'r', Mod: tea.ModCtrl})
	m = driveText(m, "(")
	m = drive(m, keyPress("enter"))
	requireContains(t, m, "bad regex")
	m = drive(m, keyPress("esc"))

	m = drive(m, keyPress("d"))
	requireContains(t, m, "dir in")
	requireNotContains(t, m, "↑ text")
	m = drive(m, keyPress("d"), keyPress("d"), keyPress("t"))
	// Data frames are text and binary ones, KalamDB's ping messages
	// included (as session.Filter classes them); HTTP exchanges are not.
	requireContains(t, m, "type data", "ping")
	requireNotContains(t, m, "POST /v1")
}

// TestPauseFreezesList: while paused new frames are counted, not shown.
func TestPauseFreezesList(t *testing.T) {
	m, b, _ := loggedIn(t, 100, 30)
	c := b.conns[0]
	m = drive(m, keyPress("space"))
	c.log.add(textFrame(stubEpoch, "in", "zzz_new", "", `{"type":"zzz_new"}`))
	m = drive(m, eventsMsg{{ConnID: c.id, Kind: EventFrames, Count: 1}})
	requireContains(t, m, "PAUSED +1")
	requireNotContains(t, m, "zzz_new")
	m = drive(m, keyPress("space"))
	requireContains(t, m, "zzz_new", "following")
}

// TestEventsFollowNewest: in follow mode the newest frame is selected.
func TestEventsFollowNewest(t *testing.T) {
	m, b, _ := loggedIn(t, 100, 30)
	c := b.conns[0]
	for i := 0; i < 50; i++ {
		c.log.add(textFrame(stubEpoch, "in", "change", "events", `{"type":"change","n":`+itoa(i)+`}`))
	}
	m = drive(m, eventsMsg{{ConnID: c.id, Kind: EventFrames, Count: 50}})
	requireContains(t, m, "Frames 64", `"n": 49`)
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// TestWaitEventsCoalesces: many queued events come back as one message.
func TestWaitEventsCoalesces(t *testing.T) {
	ch := make(chan Event, 100)
	for i := 0; i < 100; i++ {
		ch <- Event{ConnID: "c1", Kind: EventFrames, Count: 1}
	}
	msg := waitEventsCmd(ch)()
	evs, ok := msg.(eventsMsg)
	if !ok || len(evs) != 100 {
		t.Fatalf("got %T with %d events, want one eventsMsg of 100", msg, len(evs))
	}
}

// TestRedactionAndReveal: JWTs are masked until ctrl+r reveals them.
func TestRedactionAndReveal(t *testing.T) {
	m, b, _ := loggedIn(t, 120, 36)
	m, jwt := withAuthFrame(m, b)
	requireNotContains(t, m, jwt)
	requireContains(t, m, "«redacted»")
	m = drive(m, tea.KeyPressMsg{Code: 'r', Mod: tea.ModCtrl})
	requireContains(t, m, jwt, "SECRETS REVEALED")
	m = drive(m, tea.KeyPressMsg{Code: 'r', Mod: tea.ModCtrl})
	requireNotContains(t, m, jwt, "SECRETS REVEALED")
}

// TestCopyUsesOSC52: y returns a clipboard command with the masked payload.
func TestCopyUsesOSC52(t *testing.T) {
	m, _, _ := loggedIn(t, 100, 30)
	_, cmd := m.Update(keyPress("y"))
	if cmd == nil {
		t.Fatal("y returned no command")
	}
	msg := cmd()
	if got := fmtMsg(msg); !strings.Contains(got, `{"type":"ping"}`) {
		t.Fatalf("clipboard message %q does not hold the frame", got)
	}
}

func fmtMsg(msg tea.Msg) string { return fmt.Sprintf("%v", msg) }

// TestExportJSONL: e writes the visible (filtered) frames, 0600, masked.
func TestExportJSONL(t *testing.T) {
	m, _, _ := loggedIn(t, 100, 30)
	m = drive(m, keyPress("t")) // data frames only: text and binary, no HTTP
	m = drive(m, keyPress("e"))
	requireContains(t, m, "exported 13 frames")
	matches, _ := filepath.Glob(filepath.Join(m.exportDir, "*.jsonl"))
	if len(matches) != 1 {
		t.Fatalf("export files: %v", matches)
	}
	fi, err := os.Stat(matches[0])
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("export mode %v, err %v; want 0600", fi.Mode().Perm(), err)
	}
	f, _ := os.Open(matches[0])
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		var rec exportRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		if rec.Opcode != "text" && rec.Opcode != "binary" {
			t.Errorf("filtered-out %s frame exported: %s", rec.Opcode, sc.Text())
		}
		n++
	}
	if n != 13 {
		t.Errorf("%d lines, want 13", n)
	}
}

// TestSQLConsole runs a statement and shows rows; errors show in place.
func TestSQLConsole(t *testing.T) {
	m, _, _ := loggedIn(t, 100, 30)
	m = drive(m, keyPress("3"), keyPress("enter"))
	m = driveText(m, "SELECT * FROM demo.events")
	m = drive(m, keyPress("enter"))
	requireContains(t, m, "3 rows in 4ms", "login", "1046")
	m = drive(m, keyPress("enter"))
	m = driveText(m, "SELECT * FROM nosuch")
	m = drive(m, keyPress("enter"))
	requireContains(t, m, "table 'nosuch' not found")
}

// TestSubscribeWithOptions: s starts a subscription; options are parsed.
func TestSubscribeWithOptions(t *testing.T) {
	if sql, o := parseSubOptions("SELECT * FROM t WHERE a = 1 batch=50 last=10"); sql != "SELECT * FROM t WHERE a = 1" || *o.BatchSize != 50 || *o.LastRows != 10 {
		t.Fatalf("parseSubOptions = %q %+v", sql, o)
	}
	m, b, _ := loggedIn(t, 100, 30)
	m = drive(m, keyPress("3"), keyPress("s"), keyPress("enter"))
	if n := len(b.conns[0].snap.Subs); n != 3 {
		t.Fatalf("%d subscriptions, want 3", n)
	}
	requireContains(t, m, "subscribed as sub3", "sub3 loading")
}

// TestLiveRowsHighlightAndGap shows change markers and the seq-gap warning.
func TestLiveRowsHighlightAndGap(t *testing.T) {
	m, _, _ := loggedIn(t, 100, 30)
	m = drive(m, keyPress("3"))
	requireContains(t, m, "events ready 5", "purchase")
	m = drive(m, keyPress("l"))
	requireContains(t, m, "SEQ GAP", "seq jumped from 880 to 884")
}

// TestPaletteCommands runs : commands.
func TestPaletteCommands(t *testing.T) {
	m, b, _ := loggedIn(t, 100, 30)
	m = drive(m, keyPress(":"))
	m = driveText(m, "policy every 45s")
	m = drive(m, keyPress("enter"))
	if p := b.conns[0].snap.Policy; p.Kind != "periodic" || p.Interval != 45*time.Second {
		t.Fatalf("policy %+v", p)
	}
	m = drive(m, keyPress(":"))
	m = driveText(m, "frobnicate")
	m = drive(m, keyPress("enter"))
	requireContains(t, m, `unknown command "frobnicate"`)
	m = drive(m, keyPress(":"))
	m = driveText(m, "policy sometimes")
	m = drive(m, keyPress("enter"))
	requireContains(t, m, `refresh policy "sometimes"`)
	_, cmd := m.Update(keyPress(":"))
	_ = cmd
}

// TestQuit: q quits; ctrl+c quits even while typing.
func TestQuit(t *testing.T) {
	m, _, _ := loggedIn(t, 80, 24)
	_, cmd := m.Update(keyPress("q"))
	if cmd == nil || cmd() != tea.Quit() {
		t.Fatal("q did not quit")
	}
	m = drive(m, keyPress("/"))
	if _, cmd := m.Update(tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}); cmd == nil || cmd() != tea.Quit() {
		t.Fatal("ctrl+c did not quit while typing")
	}
	m2, _ := m.Update(keyPress("q")) // typing: q is text
	if !strings.Contains(screen(m2.(Model)), "/q") {
		t.Fatalf("q was not typed into the filter:\n%s", screen(m2.(Model)))
	}
}

// TestMouse: a click selects a row, the wheel scrolls, clicking a view tab
// switches view.
func TestMouse(t *testing.T) {
	m, _, _ := loggedIn(t, 100, 30)
	m = drive(m, keyPress("g"))
	m = drive(m, tea.MouseClickMsg{X: 10, Y: 5, Button: tea.MouseLeft}) // second frame row
	if f, _ := m.tabs[0].insp.selected(); f.ID != 2 {
		t.Fatalf("click selected frame %d, want 2", f.ID)
	}
	m = drive(m, tea.MouseClickMsg{X: 10, Y: 4, Button: tea.MouseLeft}) // first frame row
	f, _ := m.tabs[0].insp.selected()
	if f.ID != 1 {
		t.Fatalf("click selected frame %d, want 1", f.ID)
	}
	m = drive(m, tea.MouseWheelMsg{X: 10, Y: 6, Button: tea.MouseWheelDown})
	if f, _ := m.tabs[0].insp.selected(); f.ID != 4 {
		t.Fatalf("wheel moved to frame %d, want 4", f.ID)
	}
	m = drive(m, tea.MouseClickMsg{X: 12, Y: 1, Button: tea.MouseLeft})
	if m.tabs[0].view != viewToken {
		t.Fatalf("click on view bar: view %d", m.tabs[0].view)
	}
}

// TestTabsAndNewConnection: n opens the login form; a second connection
// gets a second tab; ] and [ switch.
func TestTabsAndNewConnection(t *testing.T) {
	m, _, _ := loggedIn(t, 100, 30)
	m = drive(m, keyPress("n"))
	if !m.loggingIn {
		t.Fatal("n did not open the login form")
	}
	m = drive(m, keyPress("enter"))
	if len(m.tabs) != 2 || m.active != 1 {
		t.Fatalf("tabs %d active %d", len(m.tabs), m.active)
	}
	requireContains(t, m, "1 admin@127.0.0.1:38080", "2 admin@127.0.0.1:38080")
	m = drive(m, keyPress("]"))
	if m.active != 0 {
		t.Fatalf("] → active %d", m.active)
	}
}

// TestTooSmall shows a notice instead of an overlapping layout.
func TestTooSmall(t *testing.T) {
	m, _, _ := loggedIn(t, 50, 12)
	requireContains(t, m, "needs at least 60×16")
	requireFits(t, "small", m.View().Content, 50, 12)
}

// TestLayoutFitsEverySize renders every screen at several sizes and checks
// nothing exceeds the terminal (no wrapping, no overlap).
func TestLayoutFitsEverySize(t *testing.T) {
	for _, sz := range [][2]int{{60, 16}, {80, 24}, {100, 30}, {120, 36}, {160, 48}, {200, 60}} {
		for _, s := range Screens(sz[0], sz[1]) {
			requireFits(t, s.Name+"@"+itoa(sz[0]), s.ANSI, sz[0], sz[1])
		}
	}
}

// TestScreensDeterministic: two calls give identical output.
func TestScreensDeterministic(t *testing.T) {
	a, b := Screens(120, 36), Screens(120, 36)
	if len(a) != 9 {
		t.Fatalf("%d screens, want 9", len(a))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("screen %s differs between calls", a[i].Name)
		}
	}
}

// TestNoColorTheme: the no-colour model emits no colour codes.
func TestNoColorTheme(t *testing.T) {
	m, _, _ := loggedIn(t, 100, 30)
	v := m.View().Content
	if strings.Contains(v, "\x1b[38;") || strings.Contains(v, "\x1b[48;") || strings.Contains(v, ";38;2;") {
		t.Error("no-colour theme emitted colour codes")
	}
}

// TestPaletteCloseTab closes the tab (in a command) and returns to the
// login form when it was the last one.
func TestPaletteCloseTab(t *testing.T) {
	m, b, _ := loggedIn(t, 100, 30)
	m = drive(m, keyPress(":"))
	m = driveText(m, "close")
	m = drive(m, keyPress("enter"))
	if len(m.tabs) != 0 || !m.loggingIn {
		t.Fatalf("tabs %d, loggingIn %v", len(m.tabs), m.loggingIn)
	}
	if !b.conns[0].closed {
		t.Error("connection not closed")
	}
}

// TestNoticeEventShowsInFooter: a backend notice appears with its hint.
func TestNoticeEventShowsInFooter(t *testing.T) {
	m, b, _ := loggedIn(t, 100, 30)
	m = drive(m, eventsMsg{{ConnID: b.conns[0].id, Kind: EventNotice, Err: true, Text: "refresh failed: 401", Hint: "log in again"}})
	requireContains(t, m, "refresh failed: 401 — log in again")
}

// TestSubscriptionFrames: f on a subscription shows only its frames.
func TestSubscriptionFrames(t *testing.T) {
	m, _, _ := loggedIn(t, 100, 30)
	m = drive(m, keyPress("3"), keyPress("f"))
	if m.tabs[0].view != viewFrames {
		t.Fatal("f did not switch to the frames view")
	}
	requireContains(t, m, "sub events", "Frames 9")
	requireNotContains(t, m, "auth_success")
}

// TestLoginTokenSources: the form offers token-command and token-file
// modes, pre-fills them from the defaults and refuses an empty source.
func TestLoginTokenSources(t *testing.T) {
	st := theme.New(true)
	f := newLoginForm(st, nil, LoginDefaults{URL: "http://127.0.0.1:8080", Auth: "token-command", TokenCommand: "gcloud auth print-identity-token"})
	r, err := f.request()
	if err != nil || r.Auth != "token-command" || r.TokenCommand != "gcloud auth print-identity-token" {
		t.Fatalf("request = %+v, %v", r, err)
	}
	f = newLoginForm(st, nil, LoginDefaults{URL: "http://127.0.0.1:8080", Auth: "token-file"})
	if _, err := f.request(); err == nil || !strings.Contains(err.Error(), "path of a file") {
		t.Fatalf("empty token file accepted: %v", err)
	}
	m, _, _ := newTestModel(t, 80, 24)
	m = drive(m, keyPress("down"), keyPress("left")) // url → auth; password → file
	requireContains(t, m, "token file", "re-read before every connect")
	m = drive(m, keyPress("left")) // file → command
	requireContains(t, m, "command", "run before every connect")
}

// TestExportTarget: ":export", ":export har", ":export PATH" and
// ":export har PATH" pick the format and path.
func TestExportTarget(t *testing.T) {
	cases := []struct{ arg, format, path string }{
		{"", "jsonl", ""},
		{"har", "har", ""},
		{"out/frames.jsonl", "jsonl", "out/frames.jsonl"},
		{"frames.HAR", "har", "frames.HAR"},
		{"har /tmp/x", "har", "/tmp/x"},
		{"jsonl my frames.jsonl", "jsonl", "my frames.jsonl"},
	}
	for _, c := range cases {
		if f, p := exportTarget(strings.Fields(c.arg)); f != c.format || p != c.path {
			t.Errorf("exportTarget(%q) = %q, %q; want %q, %q", c.arg, f, p, c.format, c.path)
		}
	}
}

// TestFooterSaysWhyTheConnectionIsDown: a connection that is not up shows
// its last error and hint in the footer until it recovers.
func TestFooterSaysWhyTheConnectionIsDown(t *testing.T) {
	m, b, clk := loggedIn(t, 120, 30)
	c := b.conns[0]
	c.snap.State, c.snap.LastError, c.snap.Hint = "reconnecting", "dial tcp 127.0.0.1:8080: connection refused", "is the server running at http://127.0.0.1:8080?"
	clk.advance(time.Minute) // past the "connected" notice
	m = drive(m, tickMsg(clk.t))
	requireContains(t, m, "connection refused", "is the server running")
	c.snap.State = "connected"
	clk.advance(time.Second)
	m = drive(m, tickMsg(clk.t))
	requireNotContains(t, m, "connection refused")
}

// TestLoginNodeList: the form takes a cluster's nodes as one comma list
// and names the connection after the first node.
func TestLoginNodeList(t *testing.T) {
	f := newLoginForm(theme.New(true), nil, LoginDefaults{URL: "http://127.0.0.1:8080, http://127.0.0.1:8081", Auth: "password", User: "alice", Password: "pw"})
	r, err := f.request()
	if err != nil || r.URL != "http://127.0.0.1:8080, http://127.0.0.1:8081" || r.Name != "alice@127.0.0.1:8080" {
		t.Fatalf("request = %+v, %v", r, err)
	}
}

// TestValidateURLCases: what the form refuses before any network call.
func TestValidateURLCases(t *testing.T) {
	for raw, want := range map[string]string{
		"":                       "enter the server URL",
		"ftp://x":                "must start with http://",
		"http://":                "has no host",
		"http://127.0.0.1:99999": "port 99999 is out of range",
		"http://127.0.0.1:0":     "port 0 is out of range",
		"https://db.example:443": "",
		// A cluster's nodes, separated by commas.
		"http://a:8080,http://b:8081":  "",
		"http://a:8080,,http://b:8081": "node 2 of 3: empty",
		"http://a:8080,ftp://b":        "node 2 of 2: the URL must start with http://",
	} {
		err := validateURL(raw)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("validateURL(%q) = %v; want %q", raw, err, want)
		}
	}
}

// TestClockSkewNotice: silent within the server's leeway, explicit beyond.
func TestClockSkewNotice(t *testing.T) {
	if ClockSkewNotice(0) != "" || ClockSkewNotice(-59*time.Second) != "" {
		t.Error("a skew inside the leeway is reported")
	}
	if n := ClockSkewNotice(-2 * time.Hour); !strings.Contains(n, "2h0m0s behind") {
		t.Errorf("behind: %q", n)
	}
	if n := ClockSkewNotice(90 * time.Second); !strings.Contains(n, "2m0s ahead") {
		t.Errorf("ahead: %q", n)
	}
}
