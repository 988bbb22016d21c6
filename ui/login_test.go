package ui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/kalamdash/kalamdash/theme"
)

// loginRow returns the login screen's line holding the field labelled
// label.
func loginRow(t *testing.T, m Model, label string) string {
	t.Helper()
	for _, l := range strings.Split(screen(m), "\n") {
		if strings.Contains(l, " "+label+"  ") {
			return l
		}
	}
	t.Fatalf("the login form has no %q row:\n%s", label, screen(m))
	return ""
}

// TestLoginInputsScrollWithCursor: a value longer than its field (a long
// URL, a pasted JWT) scrolls with the cursor instead of being cut with
// "…": the end shows after a paste and after End, the start after Home,
// and a resize keeps the cursor in view. The cached view matches a fresh
// render at every step.
func TestLoginInputsScrollWithCursor(t *testing.T) {
	m, _, _ := newTestModel(t, 80, 24)
	start := "http://127.0.0.1:38080"
	long := "/api/v1/" + strings.Repeat("segment/", 12) + "END"
	m = drive(m, tea.PasteMsg{Content: long})
	if got := m.login.url.Value(); got != start+long {
		t.Fatalf("url value %q, want %q", got, start+long)
	}
	step := func(what string, want, bad []string) {
		t.Helper()
		requireFresh(t, what, m)
		row := loginRow(t, m, "server URL")
		for _, w := range want {
			if !strings.Contains(row, w) {
				t.Errorf("%s: the URL row lacks %q: %q", what, w, row)
			}
		}
		for _, b := range append(bad, "…") {
			if strings.Contains(row, b) {
				t.Errorf("%s: the URL row shows %q: %q", what, b, row)
			}
		}
	}
	step("after the paste", []string{"segment/END"}, []string{"http://"})
	m = drive(m, tea.KeyPressMsg{Code: tea.KeyHome})
	step("after home", []string{start + "/api/v1/segment"}, []string{"END"})
	for range inputWidth(80) + 5 {
		m = drive(m, keyPress("right"))
	}
	if p := m.login.url.Position(); p != inputWidth(80)+5 {
		t.Fatalf("cursor at %d after %d rights", p, inputWidth(80)+5)
	}
	step("after moving right past the field", []string{"segment/"}, []string{"http://", "END"})
	m = drive(m, tea.KeyPressMsg{Code: tea.KeyEnd})
	step("after end", []string{"segment/END"}, []string{"http://"})

	// A narrower terminal gives a narrower field; the cursor stays in view.
	m = drive(m, tea.WindowSizeMsg{Width: 60, Height: 24})
	step("after a resize", []string{"segment/END"}, []string{"http://"})
	if w := m.login.url.Width(); w != inputWidth(60) || w >= inputWidth(80) {
		t.Fatalf("url input width %d after resizing to 60, want %d", w, inputWidth(60))
	}
	m = drive(m, tea.KeyPressMsg{Code: tea.KeyHome})
	step("after home, narrow", []string{start}, []string{"END"})

	// A pasted JWT in the masked token field: the field shows a window of
	// bullets, never the token and never "…".
	m = drive(m, keyPress("tab"), keyPress("right")) // auth: user/password → JWT
	if authModes[m.login.auth] != "jwt" {
		t.Fatalf("auth mode %q, want jwt", authModes[m.login.auth])
	}
	m = drive(m, keyPress("tab"))
	jwt := "eyJhbGciOiJIUzI1NiJ9." + strings.Repeat("eyJzdWIiOiJhZG1pbiJ9", 20) + ".c2lnbmF0dXJl"
	m = drive(m, tea.PasteMsg{Content: jwt})
	if m.login.token.Value() != jwt {
		t.Fatalf("the token field holds %d bytes, want the %d pasted", len(m.login.token.Value()), len(jwt))
	}
	requireFresh(t, "after pasting a JWT", m)
	row := loginRow(t, m, "token")
	if n := strings.Count(row, "•"); n < inputWidth(60)-1 || n > inputWidth(60) || strings.Contains(row, "…") || strings.Contains(row, "eyJ") {
		t.Errorf("the token row shows %d bullets (field %d cells): %q", n, inputWidth(60), row)
	}
}

// TestLoginCachedTokenHint: a profile with cache_token says, in the
// password placeholder and the form's help, that the password may be left
// empty to resume with the cached token; other profiles and other auth
// modes do not; an empty password then submits.
func TestLoginCachedTokenHint(t *testing.T) {
	clk := &testClock{t: stubEpoch}
	b := newStubBackend(clk.now)
	b.profiles = []Profile{
		{Name: "prod", URL: "https://prod.example.com", Auth: "password", User: "admin", CacheToken: true},
		{Name: "dev", URL: "http://localhost:8080", Auth: "password", User: "dev"},
	}
	m := New(b, WithStyles(theme.NoColor(), true), WithClock(clk.now), WithoutTicks(),
		WithLogin(LoginDefaults{Profile: "prod"}))
	m = drive(m, tea.WindowSizeMsg{Width: 100, Height: 30})
	placeholder := "empty: resume with the cached token"
	help := "leave the password empty"
	if !strings.Contains(loginRow(t, m, "password"), placeholder) {
		t.Errorf("the password row lacks the cached-token placeholder: %q", loginRow(t, m, "password"))
	}
	requireContains(t, m, help, "renewed with the cached refresh token")
	requireFresh(t, "prod", m)
	requireFits(t, "prod", m.View().Content, 100, 30)

	m = drive(m, keyPress("up"), keyPress("right")) // profile: prod → dev
	if m.login.profile != 1 {
		t.Fatalf("profile %d, want 1 (dev)", m.login.profile)
	}
	requireFresh(t, "dev", m)
	requireNotContains(t, m, placeholder, help)
	if !strings.Contains(loginRow(t, m, "password"), "password") {
		t.Errorf("the password row lost its placeholder: %q", loginRow(t, m, "password"))
	}

	m = drive(m, keyPress("left"), keyPress("down"), keyPress("down"), keyPress("right")) // back to prod, auth → JWT
	if m.login.profile != 0 || authModes[m.login.auth] != "jwt" {
		t.Fatalf("profile %d auth %q, want prod and jwt", m.login.profile, authModes[m.login.auth])
	}
	requireFresh(t, "prod jwt", m)
	requireNotContains(t, m, placeholder, help)

	m = drive(m, keyPress("left")) // auth back to user/password
	requireContains(t, m, placeholder, help)
	m = drive(m, keyPress("enter"))
	if m.loggingIn || len(b.conns) != 1 || b.conns[0].snap.Name != "prod" {
		t.Fatalf("an empty password with a cached-token profile did not submit:\n%s", screen(m))
	}
}

// TestLoginNarrowWraps: on a 70-column terminal the form's key help wraps
// between entries instead of losing "ctrl+c quit" to an ellipsis, and the
// banner's example command is never split inside a flag.
func TestLoginNarrowWraps(t *testing.T) {
	clk := &testClock{t: stubEpoch}
	m := New(newStubBackend(clk.now), WithStyles(theme.NoColor(), true), WithClock(clk.now), WithoutTicks(),
		WithLogin(LoginDefaults{URL: "http://127.0.0.1:38080", Banner: "Demo server. For a real server: " +
			"kalamdash --url https://host:8080 --user NAME --password-stdin, or --profile NAME."}))
	for _, width := range []int{60, 70, 80} {
		m = drive(m, tea.WindowSizeMsg{Width: width, Height: 30})
		view := ansi.Strip(m.View().Content)
		requireFits(t, "login", m.View().Content, width, 30)
		for _, entry := range loginHelp {
			if !strings.Contains(view, entry) {
				t.Errorf("width %d: the help lacks %q:\n%s", width, entry, view)
			}
		}
		for _, l := range strings.Split(view, "\n") {
			if l = strings.TrimSpace(l); strings.HasSuffix(l, "--") || strings.HasSuffix(l, "-") {
				t.Errorf("width %d: a line ends inside a flag: %q", width, l)
			}
		}
	}
}
