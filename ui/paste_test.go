package ui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
)

// hostilePaste holds a right-to-left override (which would show the rest
// reversed), an escape sequence, a C1 CSI, an invalid byte, a tab and a
// newline.
const hostilePaste = "SELECT 'gpj.\u202Eexe' \x1b[31m\u009b\xff\tFROM\nx"

// TestCleanPaste: the characters safetext draws as markers are removed and
// named by their markers, counted; tabs, newlines and clean text stay.
func TestCleanPaste(t *testing.T) {
	kept, removed := cleanPaste(hostilePaste)
	if want := "SELECT 'gpj.exe' [31m\tFROM\nx"; kept != want {
		t.Errorf("kept %q, want %q", kept, want)
	}
	if want := "removed 4 invisible characters: <U+202E> ␛ <U+009B> \\xff"; !strings.Contains(removed, want) {
		t.Errorf("removed %q, want it to say %q", removed, want)
	}
	if _, removed := cleanPaste("a\u202Eb\u202Ec"); !strings.Contains(removed, "2 invisible characters: <U+202E>×2") {
		t.Errorf("two overrides: %q", removed)
	}
	for _, s := range []string{"SELECT 1", "é ✓ 日本", "multi\nline\tsql", ""} {
		if kept, removed := cleanPaste(s); kept != s || removed != "" {
			t.Errorf("cleanPaste(%q) = %q, %q; want it unchanged", s, kept, removed)
		}
	}
}

// TestPastedInputHoldsWhatItShows: a paste into the SQL console, the
// login form and the composer keeps neither the override nor the escape
// (the value sent is the text on screen), and the footer or the form says
// what was removed.
func TestPastedInputHoldsWhatItShows(t *testing.T) {
	unseen := func(t *testing.T, where, v string) {
		t.Helper()
		if strings.ContainsAny(v, "\u202E\x1b\u009b") {
			t.Errorf("%s holds invisible characters: %q", where, v)
		}
	}
	said := "paste: removed 4 invisible characters: <U+202E> ␛ <U+009B> \\xff"

	t.Run("sql console", func(t *testing.T) {
		m, _, _ := loggedIn(t, 120, 30)
		m = drive(m, keyPress("3"), keyPress("enter"), tea.PasteMsg{Content: hostilePaste})
		v := m.tabs[0].data.input.Value()
		unseen(t, "the SQL console", v)
		if want := "SELECT 'gpj.exe' [31m FROM x"; v != want {
			t.Errorf("the SQL console holds %q, want %q", v, want)
		}
		requireContains(t, m, said, "SELECT 'gpj.exe' [31m FROM x")
		requireFits(t, "sql console", m.View().Content, 120, 30)
	})

	t.Run("login form", func(t *testing.T) {
		m, _, _ := newTestModel(t, 100, 30)
		m = drive(m, tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl}, tea.PasteMsg{Content: "http://h\u202Eost:8080\x1b"})
		if v := m.login.url.Value(); v != "http://host:8080" {
			t.Errorf("the URL field holds %q", v)
		}
		requireContains(t, m, "paste: removed 2 invisible characters: <U+202E> ␛")
		requireFresh(t, "login form after a paste", m)
		m = drive(m, keyPress("end"))
		requireNotContains(t, m, "paste: removed")
	})

	t.Run("composer", func(t *testing.T) {
		m, _, _ := loggedIn(t, 120, 40)
		m = drive(m, keyPress("w"), tea.PasteMsg{Content: hostilePaste})
		v := m.tabs[0].comp.area.Value()
		unseen(t, "the composer", v)
		if !strings.Contains(v, "SELECT 'gpj.exe' [31m") || !strings.Contains(v, "FROM\nx") {
			t.Errorf("the composer lost the visible text or the line break: %q", v)
		}
		requireContains(t, m, said)
	})
}
