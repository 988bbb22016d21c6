package session

import (
	"fmt"
	"strings"
	"unicode"
)

// snapshotSQL is a live query taken apart so it can be run as a paged
// snapshot over HTTP. A KalamDB live query is SELECT <projection> FROM
// <table> [WHERE <filter>] (no ORDER BY, LIMIT or OFFSET: the server
// refuses them for subscriptions).
type snapshotSQL struct {
	projection, from, where string
	addSeq                  bool // the projection does not include _seq
}

// parseSnapshotSQL splits a live query at its top-level FROM and WHERE.
func parseSnapshotSQL(sql string) (snapshotSQL, error) {
	q := strings.TrimSpace(sql)
	q = strings.TrimSpace(strings.TrimSuffix(q, ";"))
	words := topLevelWords(q)
	find := func(word string) int {
		for _, w := range words {
			if strings.EqualFold(q[w[0]:w[1]], word) {
				return w[0]
			}
		}
		return -1
	}
	sel, from, where := find("SELECT"), find("FROM"), find("WHERE")
	if sel != 0 || from < 0 {
		return snapshotSQL{}, fmt.Errorf("not a live query (SELECT … FROM … [WHERE …]): %q", sql)
	}
	for _, kw := range []string{"ORDER", "LIMIT", "OFFSET", "GROUP", "UNION"} {
		if find(kw) >= 0 {
			return snapshotSQL{}, fmt.Errorf("a live query has no %s; cannot page %q", kw, sql)
		}
	}
	s := snapshotSQL{projection: strings.TrimSpace(q[len("SELECT"):from])}
	if where > from {
		s.from = strings.TrimSpace(q[from+len("FROM") : where])
		s.where = strings.TrimSpace(q[where+len("WHERE"):])
	} else {
		s.from = strings.TrimSpace(q[from+len("FROM"):])
	}
	if s.projection == "" || s.from == "" || (where > from && s.where == "") {
		return snapshotSQL{}, fmt.Errorf("incomplete live query: %q", sql)
	}
	s.addSeq = s.projection != "*" && !hasWord(s.projection, "_seq")
	return s, nil
}

// page returns the SQL of one snapshot page: up to limit rows with _seq >
// $1, in _seq order. Paging by _seq (as KalamDB's own initial load does)
// rather than OFFSET keeps the scan right while the table changes: a row
// written during the scan gets a _seq above every row read so far, so it
// shows up on a later page instead of shifting the pages.
func (s snapshotSQL) page(limit int) string {
	var b strings.Builder
	b.WriteString("SELECT ")
	b.WriteString(s.projection)
	if s.addSeq {
		b.WriteString(", _seq")
	}
	b.WriteString(" FROM ")
	b.WriteString(s.from)
	b.WriteString(" WHERE ")
	if s.where != "" {
		b.WriteString("(")
		b.WriteString(s.where)
		b.WriteString(") AND ")
	}
	fmt.Fprintf(&b, "_seq > $1 ORDER BY _seq LIMIT %d", limit)
	return b.String()
}

// topLevelWords returns the [start, end) byte ranges of the bare words
// of q outside quotes, comments and parentheses.
func topLevelWords(q string) [][2]int {
	var out [][2]int
	depth := 0
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			i = skipQuoted(q, i)
		case c == '-' && strings.HasPrefix(q[i:], "--"):
			if j := strings.IndexByte(q[i:], '\n'); j >= 0 {
				i += j + 1
			} else {
				i = len(q)
			}
		case c == '/' && strings.HasPrefix(q[i:], "/*"):
			if j := strings.Index(q[i+2:], "*/"); j >= 0 {
				i += j + 4
			} else {
				i = len(q)
			}
		case c == '(':
			depth++
			i++
		case c == ')':
			depth--
			i++
		case isWordByte(c):
			j := i
			for j < len(q) && isWordByte(q[j]) {
				j++
			}
			if depth == 0 {
				out = append(out, [2]int{i, j})
			}
			i = j
		default:
			i++
		}
	}
	return out
}

// skipQuoted returns the index after the quoted run starting at i (a
// doubled quote stays inside it, as in SQL).
func skipQuoted(q string, i int) int {
	quote := q[i]
	for j := i + 1; j < len(q); j++ {
		if q[j] != quote {
			continue
		}
		if j+1 < len(q) && q[j+1] == quote {
			j++
			continue
		}
		return j + 1
	}
	return len(q)
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 0x80 || unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c))
}

// hasWord reports whether s mentions word as a bare (or dotted) word.
func hasWord(s, word string) bool {
	for _, w := range topLevelWords(s) {
		if strings.EqualFold(s[w[0]:w[1]], word) {
			return true
		}
	}
	return false
}
