package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/kalamdash/kalamdash/theme"
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

// TestLongLivedTokenTimes checks that a token living for days counts down
// in days and names the day it expires: "in 720:00:00 at 09:00:00" reads as
// a token expiring today.
func TestLongLivedTokenTimes(t *testing.T) {
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	if got, want := countdown(30*24*time.Hour+90*time.Second), "30d 00:01:30"; got != want {
		t.Errorf("countdown(30 days) = %q, want %q", got, want)
	}
	if got, want := countdown(-(25*time.Hour + time.Second)), "-1d 01:00:01"; got != want {
		t.Errorf("countdown(-25h) = %q, want %q", got, want)
	}
	if got, want := countdown(2*time.Hour+3*time.Minute), "2:03:00"; got != want {
		t.Errorf("countdown(2h3m) = %q, want %q", got, want)
	}
	p := countdownOf(now, now, now.Add(30*24*time.Hour), 80)
	if p.text != "in 30d 00:00:00" || p.at != "Jan 5 09:00:00" {
		t.Errorf("30-day token: %q at %q, want \"in 30d 00:00:00\" at \"Jan 5 09:00:00\"", p.text, p.at)
	}
	if p := countdownOf(now, now, now.Add(2*time.Minute), 80); p.at != "09:02:00" {
		t.Errorf("2-minute token at %q, want the time of day only", p.at)
	}
}

// TestRotationExpiriesNameTheDay: a rotation whose new token lives for a
// day shows the day in the NEW EXP column, not a time equal to the
// rotation's own; short-lived tokens keep the narrow columns.
func TestRotationExpiriesNameTheDay(t *testing.T) {
	at := time.Date(2026, 12, 6, 23, 32, 10, 0, time.UTC)
	s := Snapshot{Rotations: []Rotation{{Time: at, Trigger: "app login", OK: true, NewExp: at.Add(24 * time.Hour)}}}
	view := ansi.Strip(tokenView(theme.NoColor(), s, at, DefaultTokenKeyMap(), 100, 30))
	if !strings.Contains(view, "Dec 7 23:32") {
		t.Errorf("the rotation's new expiry lacks its day:\n%s", view)
	}
	s.Rotations[0].NewExp = at.Add(2 * time.Minute)
	view = ansi.Strip(tokenView(theme.NoColor(), s, at, DefaultTokenKeyMap(), 100, 30))
	if !strings.Contains(view, "23:34:10") || strings.Contains(view, "Dec 7") {
		t.Errorf("a 2-minute token's expiry should be the time of day alone:\n%s", view)
	}
}
