package cli

import (
	"encoding/json"
	"unicode"
	"unicode/utf8"

	"github.com/kalamdash/kalamdash/internal/safetext"
)

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
	return safetext.Line(string(q))
}
