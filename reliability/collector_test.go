package reliability_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/kalamdash/kalamdash/client"
)

// collector consumes one subscription's events and keeps what a consumer
// would see: every delivered row's _seq in order, which ids arrived as new
// rows and how often, the current value of each row, and event counts.
type collector struct {
	s *client.Subscription

	mu         sync.Mutex
	lastSeq    int64
	delivered  int                         // rows delivered (batch, insert, update, delete)
	violations []string                    // _seq not above the previous one
	seen       map[int64]int               // id → times it arrived as a new row
	state      map[int64]string            // id → body, as the consumer reconstructs it
	kinds      map[client.SubEventKind]int // events by kind
	rowsByKind map[client.SubEventKind]int // rows by kind
	resumed    int                         // acks answering a resumed subscribe
	dropped    int                         // rows the client dropped as replays
	gaps       []string
	errs       []string
	done       chan struct{}
}

func newCollector(s *client.Subscription) *collector {
	c := &collector{
		s: s, seen: map[int64]int{}, state: map[int64]string{},
		kinds: map[client.SubEventKind]int{}, rowsByKind: map[client.SubEventKind]int{},
		done: make(chan struct{}),
	}
	go func() {
		defer close(c.done)
		for ev := range s.Events() {
			c.add(ev)
		}
	}()
	return c
}

func (c *collector) add(ev client.SubEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.kinds[ev.Kind]++
	c.dropped += ev.Dropped
	switch ev.Kind {
	case client.SubAck:
		if ev.Resumed {
			c.resumed++
		}
	case client.SubBatch, client.SubInsert:
		for _, r := range ev.Rows {
			c.row(ev.Kind, r)
			if id, ok := rowID(r); ok {
				c.seen[id]++
				c.state[id] = body(r)
			}
		}
	case client.SubUpdate:
		for _, r := range ev.Rows {
			c.row(ev.Kind, r)
			if id, ok := rowID(r); ok {
				if b, has := r["body"]; has {
					c.state[id] = fmt.Sprint(b)
				}
			}
		}
	case client.SubDelete:
		for _, r := range ev.OldValues {
			c.row(ev.Kind, r)
			if id, ok := rowID(r); ok {
				delete(c.state, id)
			}
		}
	case client.SubGap:
		c.gaps = append(c.gaps, fmt.Sprint(ev.Err))
	case client.SubError:
		c.errs = append(c.errs, fmt.Sprintf("%s: %v", ev.Code, ev.Err))
	}
}

// row checks one delivered row's _seq against the previous one: a
// subscription's rows must arrive in strictly increasing _seq order, so a
// repeat (or a step back) is a duplicate or reordering.
func (c *collector) row(kind client.SubEventKind, r client.Row) {
	c.delivered++
	c.rowsByKind[kind]++
	seq, ok := r.Seq()
	if !ok {
		c.violations = append(c.violations, fmt.Sprintf("%v row without _seq: %v", kind, r))
		return
	}
	if seq <= c.lastSeq {
		id, _ := rowID(r)
		c.violations = append(c.violations, fmt.Sprintf("%v row id %d _seq %d after _seq %d", kind, id, seq, c.lastSeq))
	}
	c.lastSeq = max(c.lastSeq, seq)
}

// hasAll reports whether every id has arrived at least once.
func (c *collector) hasAll(ids []int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		if c.seen[id] == 0 {
			return false
		}
	}
	return true
}

// count returns the number of events of kind k.
func (c *collector) count(k client.SubEventKind) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.kinds[k]
}

func (c *collector) resumes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.resumed
}

// report describes what is missing from ids, for timeouts.
func (c *collector) report(ids []int64) func() string {
	return func() string {
		c.mu.Lock()
		defer c.mu.Unlock()
		var missing []int64
		for _, id := range ids {
			if c.seen[id] == 0 {
				missing = append(missing, id)
			}
		}
		if len(missing) > 8 {
			missing = missing[:8]
		}
		return fmt.Sprintf("sub %s: %d rows delivered, %d distinct ids, events %v, first missing %v, gaps %v, errors %v",
			c.s.ID(), c.delivered, len(c.seen), c.kinds, missing, c.gaps, c.errs)
	}
}

// checkExactlyOnce asserts that ids arrived exactly once each, that no
// other id arrived, and that every delivered row kept _seq order.
func (c *collector) checkExactlyOnce(t *testing.T, ids []int64) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	want := make(map[int64]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	var dup, lost, extra []int64
	for _, id := range ids {
		switch n := c.seen[id]; {
		case n == 0:
			lost = append(lost, id)
		case n > 1:
			dup = append(dup, id)
		}
	}
	for id := range c.seen {
		if !want[id] {
			extra = append(extra, id)
		}
	}
	slices.Sort(extra)
	if len(lost)+len(dup)+len(extra) > 0 {
		t.Errorf("sub %s: %d ids lost %v, %d duplicated %v, %d unexpected %v",
			c.s.ID(), len(lost), head(lost), len(dup), head(dup), len(extra), head(extra))
	}
	if len(c.violations) > 0 {
		t.Errorf("sub %s: %d rows out of _seq order (duplicates or reordering), first: %v",
			c.s.ID(), len(c.violations), c.violations[:min(5, len(c.violations))])
	}
	if len(c.errs) > 0 {
		t.Errorf("sub %s: error events %v", c.s.ID(), c.errs)
	}
}

func head(ids []int64) []int64 { return ids[:min(8, len(ids))] }

// rowID reads a row's id column (BIGINT, so a string on the wire).
func rowID(r client.Row) (int64, bool) { return client.ParseSeq(r["id"]) }

func body(r client.Row) string {
	if b, ok := r["body"]; ok && b != nil {
		return fmt.Sprint(b)
	}
	return ""
}

// checkOrder asserts that every delivered row kept _seq order and no
// error event arrived, for scenarios where an id may legitimately arrive
// twice (an update re-delivered by a resume).
func (c *collector) checkOrder(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.violations) > 0 {
		t.Errorf("sub %s: %d rows out of _seq order (duplicates or reordering), first: %v",
			c.s.ID(), len(c.violations), c.violations[:min(5, len(c.violations))])
	}
	if len(c.errs) > 0 {
		t.Errorf("sub %s: error events %v", c.s.ID(), c.errs)
	}
}

// snapshot returns the consumer's reconstructed table: id → body.
func (c *collector) snapshot() map[int64]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[int64]string, len(c.state))
	for k, v := range c.state {
		out[k] = v
	}
	return out
}

// rows returns how many rows arrived in events of kind k.
func (c *collector) rows(k client.SubEventKind) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rowsByKind[k]
}

// distinct returns how many distinct ids arrived as new rows.
func (c *collector) distinct() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}
