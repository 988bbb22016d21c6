package ui

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/kalamdash/kalamdash/internal/safetext"
)

// Pasted text goes into a text input (SQL console, login form, composer,
// filters, palette) and from there to the server as it is. A paste may
// carry characters that draw as nothing: an ESC, other control
// characters, bidi overrides such as U+202E that reorder what the input
// shows (Trojan Source). The inputs draw their value raw, so such text
// would be sent as something other than what the user sees.
//
// Two ways out: draw the input's value with safetext's markers, or take
// the characters out of the paste and say so. Markers would make what is
// seen differ from what is sent the other way round ("<U+202E>" on screen,
// one rune on the wire) and put the cursor out of step with the value.
// Taking them out keeps the input's value exactly the text on screen, so
// a paste is cleaned here and the footer (the login form's notice when it
// is open) names each character removed by its marker. Newlines, carriage
// returns and tabs stay: the inputs turn them into spaces or line breaks
// themselves, as the user expects of a multi-line SQL paste.

// cleanPaste returns pasted text without the characters safetext would
// draw as markers, and what it removed, described for a notice ("" when
// nothing was).
func cleanPaste(s string) (kept, removed string) {
	if safetext.Clean(s) {
		return s, ""
	}
	var b strings.Builder
	var order []string // markers in the order first seen
	count := map[string]int{}
	for i := 0; i < len(s); {
		_, n := utf8.DecodeRuneInString(s[i:])
		u := s[i : i+n]
		switch {
		case u == "\n", u == "\r", u == "\t", safetext.Clean(u):
			b.WriteString(u)
		default:
			m := safetext.Line(u)
			if count[m] == 0 {
				order = append(order, m)
			}
			count[m]++
		}
		i += n
	}
	if len(order) == 0 {
		return s, ""
	}
	total := 0
	parts := make([]string, len(order))
	for i, m := range order {
		total += count[m]
		parts[i] = m
		if count[m] > 1 {
			parts[i] = fmt.Sprintf("%s×%d", m, count[m])
		}
	}
	what := "character"
	if total > 1 {
		what = "characters"
	}
	return b.String(), fmt.Sprintf("paste: removed %d invisible %s: %s", total, what, strings.Join(parts, " "))
}
