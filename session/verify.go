package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// VerifyOptions tune Verify. The zero value uses the defaults.
type VerifyOptions struct {
	PageSize int           // rows per snapshot page (default DefaultVerifyPageSize)
	Settle   time.Duration // how long the recheck waits for changes in flight (default DefaultVerifySettle)
}

// Verify defaults.
const (
	// DefaultVerifyPageSize keeps a 100 000-row table to 20 requests, well
	// under KalamDB's default of 100 queries per second per user.
	DefaultVerifyPageSize = 5000
	DefaultVerifySettle   = 2 * time.Second
)

// Verification is the result of comparing a live view with the server's
// rows.
type Verification struct {
	SubID, SQL        string
	Started, Finished time.Time
	ServerRows        int // rows the server returned for the subscription's query
	LiveRows          int // rows the live view holds (deleted ones left out)
	Received          int // rows the subscription had received when checked
	Evicted           int // server rows not compared: the cap evicted them, unchanged since
	Unsure            int // server rows the view lacks that may have been evicted (more evictions than remembered)
	Outside           int // server rows older than a partial subscription's start (last=N, from, no initial data)
	Pages             int // snapshot requests, both passes
	Rechecked         bool
	Missing           DiffSet // the server has them, the view does not
	Extra             DiffSet // the view has them, the server does not
	Values            DiffSet // both have them, with different values
	Changed           DiffSet // differed in one pass only, or with other _seq: changed during the check
	// LiveQuery is what system.live said: "present", "absent" (killed),
	// or "" when it could not be read (it needs a DBA).
	LiveQuery string
}

// Clean reports whether the view matched the server (rows that changed
// during the check aside).
func (v Verification) Clean() bool { return v.Missing.Count+v.Extra.Count+v.Values.Count == 0 }

// Summary is a one-line account of the result.
func (v Verification) Summary() string {
	if v.Clean() {
		s := fmt.Sprintf("clean: the %d rows on the server match the live view", v.ServerRows)
		if v.Evicted > 0 {
			s += fmt.Sprintf(" (%d evicted by the row cap, unchanged)", v.Evicted)
		}
		if v.Changed.Count > 0 {
			s += fmt.Sprintf("; %d changed during the check", v.Changed.Count)
		}
		return s
	}
	return fmt.Sprintf("mismatch: %s missing from the live view, %s no longer on the server, %s with other values; %d on the server, %d in the view",
		v.Missing.Summary(), v.Extra.Summary(), v.Values.Summary(), v.ServerRows, v.LiveRows)
}

// VerifyPart is one kind of difference of a Verification, titled for
// people.
type VerifyPart struct {
	Title string
	Set   DiffSet
	// Counted is false for rows that changed during the check: they are
	// not differences.
	Counted bool
}

// Parts lists the kinds of difference in the order to show them.
func (v Verification) Parts() []VerifyPart {
	return []VerifyPart{
		{"missing from the live view", v.Missing, true},
		{"no longer on the server", v.Extra, true},
		{"with other values", v.Values, true},
		{"changed during the check (not counted)", v.Changed, false},
	}
}

// Counts says what was compared, in words.
func (v Verification) Counts() string {
	s := fmt.Sprintf("server rows %d, live rows %d, received %d, evicted by the row cap %d, pages %d",
		v.ServerRows, v.LiveRows, v.Received, v.Evicted, v.Pages)
	if v.Outside > 0 {
		s += fmt.Sprintf(", %d older than the subscription's start (not loaded by design)", v.Outside)
	}
	return s
}

// Causes lists each cause found, with its explanation, most frequent first.
func (v Verification) Causes() []string {
	counts := map[Cause]int{}
	for _, d := range []DiffSet{v.Missing, v.Extra, v.Values} {
		for c, n := range d.Causes {
			counts[c] += n
		}
	}
	var out []string
	for len(counts) > 0 {
		best, n := Cause(""), -1
		for c, k := range counts {
			if k > n || (k == n && c < best) {
				best, n = c, k
			}
		}
		delete(counts, best)
		out = append(out, fmt.Sprintf("%s (%d): %s", best, n, best.Explain()))
	}
	return out
}

// Verify runs the subscription's query as a snapshot over HTTP (paged by
// _seq, as the connection's user) and compares it with the live view by
// key. Differences are checked again once after the changes in flight have
// had time to arrive (up to o.Settle): a row whose _seq moved between the
// two passes changed during the check and is counted apart. The result is
// kept as the subscription's Verified and noted in its history.
func (c *Conn) Verify(ctx context.Context, id string, o VerifyOptions) (Verification, error) {
	if o.PageSize <= 0 {
		o.PageSize = DefaultVerifyPageSize
	}
	if o.Settle <= 0 {
		o.Settle = DefaultVerifySettle
	}
	c.mu.Lock()
	t := c.subs[id]
	var sql string
	if t != nil {
		sql = t.snap.SQL
	}
	c.mu.Unlock()
	if t == nil {
		return Verification{}, fmt.Errorf("no subscription %q", id)
	}
	q, err := parseSnapshotSQL(sql)
	if err != nil {
		return Verification{}, err
	}
	v := Verification{SubID: id, SQL: sql, Started: c.clock.Now()}

	server1, maxSeq, err := c.scanServer(ctx, q, t, o.PageSize, &v.Pages)
	if err != nil {
		return Verification{}, err
	}
	live1, ok := c.liveView(id, t)
	if !ok {
		return Verification{}, fmt.Errorf("subscription %q was removed during the check", id)
	}
	res := diffRows(server1, live1)
	first := res.diffs
	server, live, diffs := server1, live1, first
	if len(first) > 0 {
		c.settle(ctx, id, t, maxSeq, o.Settle)
		server2, _, err := c.scanServer(ctx, q, t, o.PageSize, &v.Pages)
		if err != nil {
			return Verification{}, err
		}
		if live, ok = c.liveView(id, t); !ok {
			return Verification{}, fmt.Errorf("subscription %q was removed during the check", id)
		}
		server, v.Rechecked = server2, true
		res = diffRows(server2, live)
		diffs = res.diffs
	}
	v.Evicted, v.Unsure, v.Outside = res.evicted, res.unsure, res.outside
	v.ServerRows, v.LiveRows, v.Received = len(server), len(live.rows), live.received

	found := diffs
	if v.Rechecked {
		found = nil
		before := make(map[string]RowDiff, len(first))
		for _, d := range first {
			before[d.Key] = d
		}
		for _, d := range diffs {
			if p, ok := before[d.Key]; ok && p.Kind == d.Kind && p.ServerSeq == d.ServerSeq && p.LiveSeq == d.LiveSeq {
				found = append(found, d)
				delete(before, d.Key)
				continue
			}
			delete(before, d.Key)
			v.Changed.add(d)
		}
		for _, d := range first { // settled: differed only in the first pass
			if _, ok := before[d.Key]; ok {
				v.Changed.add(d)
			}
		}
	}
	lq := liveQueryUnknown
	if len(found) > 0 {
		lq = c.liveQueryState(ctx, id)
	}
	switch lq {
	case liveQueryPresent:
		v.LiveQuery = "present"
	case liveQueryAbsent:
		v.LiveQuery = "absent"
	}
	for _, d := range found {
		d.Cause = live.cause(d, lq)
		switch d.Kind {
		case DiffMissing:
			v.Missing.add(d)
		case DiffExtra:
			v.Extra.add(d)
		case DiffValues:
			v.Values.add(d)
		}
	}
	v.Finished = c.clock.Now()

	c.mu.Lock()
	if c.subs[id] == t {
		t.snap.Verified = &v
		if v.Clean() {
			t.snap.Shortfall = nil
		}
		t.note("verify", v.Summary(), v.Finished)
	}
	c.mu.Unlock()
	c.m.emit(SubscriptionChangedEvent{Conn: c.name})
	return v, nil
}

// liveView copies table t of subscription id, if it is still there.
func (c *Conn) liveView(id string, t *liveTable) (liveView, bool) {
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.subs[id] != t {
		return liveView{}, false
	}
	t.prune(now)
	return t.view(), true
}

// settle waits until the view has seen _seq maxSeq, or has been quiet for
// a quarter of d, or d has passed (wall time: this waits for the network).
func (c *Conn) settle(ctx context.Context, id string, t *liveTable, maxSeq int64, d time.Duration) {
	deadline := time.Now().Add(d)
	quiet := d / 4
	lastReceived, lastChange := -1, time.Now()
	for time.Now().Before(deadline) {
		c.mu.Lock()
		gone := c.subs[id] != t
		seen, received := t.snap.LastSeq, t.snap.Received
		c.mu.Unlock()
		if gone || seen >= maxSeq {
			return
		}
		if received != lastReceived {
			lastReceived, lastChange = received, time.Now()
		} else if time.Since(lastChange) >= quiet {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// scanServer reads every row of the live query q from the server, in
// pages of pageSize ordered by _seq, keyed as table t keys its rows. A row
// seen twice (updated during the scan) keeps its newer version. It
// returns the highest _seq read.
func (c *Conn) scanServer(ctx context.Context, q snapshotSQL, t *liveTable, pageSize int, pages *int) (map[string]sideRow, int64, error) {
	c.mu.Lock()
	pk := append([]string(nil), t.pk...)
	c.mu.Unlock()
	rows := map[string]sideRow{}
	var after int64
	sql := q.page(pageSize)
	for {
		res, err := c.queryPage(ctx, sql, after)
		if err != nil {
			return nil, 0, fmt.Errorf("verify: read the server's rows: %w", err)
		}
		*pages++
		if len(res.Results) != 1 {
			return nil, 0, fmt.Errorf("verify: the server answered the snapshot query with %d results, want 1", len(res.Results))
		}
		r := res.Results[0]
		cols := r.Columns()
		for _, vals := range r.Rows {
			row := make(Row, len(cols))
			for i, name := range cols {
				if i < len(vals) {
					row[name] = vals[i]
				}
			}
			seq, ok := row.Seq()
			if !ok {
				return nil, 0, errors.New("verify: a snapshot row has no _seq")
			}
			k := rowKey(pk, row)
			if prev, dup := rows[k]; !dup || seq > prev.seq {
				rows[k] = sideRow{seq: seq, values: row}
			}
			after = max(after, seq)
		}
		if len(r.Rows) < pageSize {
			return rows, after, nil
		}
	}
}

// queryPage runs one snapshot page, waiting out the server's rate limit a
// few times (KalamDB allows 100 queries per second per user by default).
func (c *Conn) queryPage(ctx context.Context, sql string, after int64) (*QueryResult, error) {
	for attempt := 0; ; attempt++ {
		res, err := c.Query(ctx, sql, after)
		if err == nil || !client.IsRateLimited(err) || attempt == 4 {
			return res, err
		}
		wait := time.Second
		var ce *client.Error
		if errors.As(err, &ce) && ce.RetryAfter > 0 {
			wait = ce.RetryAfter
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// liveQueryState asks system.live whether the server still has the
// subscription (liveStates). Reading system.live needs a DBA; for anyone
// else, and for a subscription not acknowledged on the current socket,
// the answer is unknown.
func (c *Conn) liveQueryState(ctx context.Context, id string) liveQueryState {
	ls, err := c.liveStates(ctx)
	if err != nil {
		return liveQueryUnknown
	}
	return ls.states[id] // liveQueryUnknown when not judged
}
