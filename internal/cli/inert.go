package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// inert makes one line of text from outside (a token's claims, a server's
// message) safe to print on a terminal: every rune that is not graphic —
// C0 and C1 controls, DEL, bidirectional overrides and isolates, line
// separators — and every invalid UTF-8 byte is written as a visible
// \uXXXX or \xXX escape. Escapes of that form are also valid inside JSON
// strings, so JSON text stays JSON.
func inert(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsGraphic(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case !unicode.IsGraphic(r) && r <= 0xFFFF:
			fmt.Fprintf(&b, `\u%04x`, r)
		case !unicode.IsGraphic(r):
			fmt.Fprintf(&b, `\U%08x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// inertLines is inert for multi-line text: the line breaks are kept.
func inertLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = inert(l)
	}
	return strings.Join(lines, "\n")
}

// inertName shows a name from outside (a claim, a header parameter) bare
// when it is one printable word, and JSON-quoted otherwise, so an empty or
// spaced name cannot pass for something else.
func inertName(s string) string {
	plain := s != ""
	for _, r := range s {
		if r == utf8.RuneError || r == ' ' || !unicode.IsGraphic(r) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	q, _ := json.Marshal(s)
	return inert(string(q))
}
