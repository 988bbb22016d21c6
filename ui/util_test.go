package ui

import (
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// TestCellWidthMatchesAnsi checks the ASCII fast path agrees with x/ansi.
func TestCellWidthMatchesAnsi(t *testing.T) {
	for _, s := range []string{"", "abc", "héllo", "↓ text", "\x1b[1mbold\x1b[0m", "日本", "a\tb", "~"} {
		if got, want := cellWidth(s), ansi.StringWidth(s); got != want {
			t.Errorf("cellWidth(%q) = %d, want %d", s, got, want)
		}
	}
	if got := fit("abcdef", 4); ansi.StringWidth(got) != 4 {
		t.Errorf("fit truncation width %d", ansi.StringWidth(got))
	}
}
