package session

import (
	"slices"
	"strings"
)

// RowQuery selects and orders a live table's rows for display. The zero
// value is every kept row in arrival order.
type RowQuery struct {
	// Filter keeps the rows whose key or any value contains it, ignoring
	// case; "" keeps all.
	Filter string
	// ByKey orders by primary key (numerically when both keys are
	// integers) instead of arrival.
	ByKey bool
}

// rowSelection caches the rows a RowQuery selects, as positions in the table,
// until the table changes.
type rowSelection struct {
	q       RowQuery
	version uint64
	idx     []int // positions in rows (relative to base at version)
}

// SubRowsQuery returns up to n rows of a live table that q selects,
// starting at offset, and how many q selects in all. Row maps are shared
// and must not be modified.
func (c *Conn) SubRowsQuery(id string, q RowQuery, offset, n int) ([]LiveRow, int) {
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.subs[id]
	if t == nil {
		return nil, 0
	}
	t.prune(now)
	if q == (RowQuery{}) {
		return t.page(now, offset, n), len(t.rows)
	}
	idx := t.selectRows(q)
	offset = max(offset, 0)
	if offset >= len(idx) || n <= 0 {
		return nil, len(idx)
	}
	out := make([]LiveRow, 0, min(n, len(idx)-offset))
	for _, i := range idx[offset:min(len(idx), offset+n)] {
		out = append(out, t.rows[i])
	}
	return out, len(idx)
}

// selectRows returns the positions of the rows q selects, in q's order,
// from the cache while the table is unchanged.
func (t *liveTable) selectRows(q RowQuery) []int {
	if v := t.selection; v != nil && v.q == q && v.version == t.version {
		return v.idx
	}
	needle := strings.ToLower(q.Filter)
	idx := make([]int, 0, len(t.rows))
	for i := range t.rows {
		if needle == "" || rowContains(t.rows[i], needle) {
			idx = append(idx, i)
		}
	}
	if q.ByKey {
		slices.SortStableFunc(idx, func(a, b int) int { return compareKeys(t.rows[a].Key, t.rows[b].Key) })
	}
	t.selection = &rowSelection{q: q, version: t.version, idx: idx}
	return idx
}

// rowContains reports whether the row's key or a value contains needle
// (lower case).
func rowContains(r LiveRow, needle string) bool {
	if strings.Contains(strings.ToLower(r.Key), needle) {
		return true
	}
	for c, v := range r.Values {
		if strings.HasPrefix(c, "_") {
			continue
		}
		if v != nil && strings.Contains(strings.ToLower(valueText(v)), needle) {
			return true
		}
	}
	return false
}

// compareKeys orders keys numerically when both are integers (BIGINT keys
// arrive as text: "10" after "9"), else as text.
func compareKeys(a, b string) int {
	an, bn := isInteger(a), isInteger(b)
	switch {
	case an && bn:
		neg := func(s string) bool { return s[0] == '-' }
		if neg(a) != neg(b) {
			if neg(a) {
				return -1
			}
			return 1
		}
		c := len(a) - len(b)
		if c == 0 {
			c = strings.Compare(a, b)
		}
		if neg(a) {
			c = -c
		}
		if c < 0 {
			return -1
		} else if c > 0 {
			return 1
		}
		return 0
	case an:
		return -1
	case bn:
		return 1
	}
	return strings.Compare(a, b)
}

// isInteger reports whether s is a decimal integer without leading zeros.
func isInteger(s string) bool {
	d := strings.TrimPrefix(s, "-")
	if d == "" || (len(d) > 1 && d[0] == '0') {
		return false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return false
		}
	}
	return true
}
