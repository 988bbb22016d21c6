package session

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// Row is one row of a live table (alias of client.Row: column → value).
type Row = client.Row

// SchemaField is a column description (alias of client.SchemaField).
type SchemaField = client.SchemaField

// BatchControl is a subscription's initial-load progress (alias).
type BatchControl = client.BatchControl

// RecentChange is how long a row keeps its change marker (and a deleted row
// stays visible, struck out) after the change.
const RecentChange = 3 * time.Second

// DefaultLiveRowCap is how many rows each live table keeps unless
// WithLiveRowCap says otherwise; beyond it the oldest-arrived rows are
// evicted and counted in SubSnapshot.Evicted.
const DefaultLiveRowCap = 10_000

// maxEvictedKeys bounds the keys of evicted rows a table remembers (with
// the _seq they had), so Verify can tell a row the cap evicted from a row
// that never arrived. Beyond it evictions are only counted.
const maxEvictedKeys = 1 << 20

// MaxSubHistory bounds the history entries kept per subscription.
const MaxSubHistory = 50

// MaxGapWarnings bounds the gap warnings kept per subscription.
const MaxGapWarnings = 20

// RowChange marks what last happened to a live row.
type RowChange uint8

// Row change markers.
const (
	ChangeNone    RowChange = iota // from the initial load, unchanged since
	ChangeInsert                   // inserted live
	ChangeUpdate                   // updated live
	ChangeDelete                   // deleted live (row kept for RecentChange)
	ChangeInitial                  // arrived in an initial_data_batch just now
)

// String returns "", "insert", "update", "delete" or "initial".
func (c RowChange) String() string {
	switch c {
	case ChangeInsert:
		return "insert"
	case ChangeUpdate:
		return "update"
	case ChangeDelete:
		return "delete"
	case ChangeInitial:
		return "initial"
	}
	return ""
}

// Column describes one column of a live table.
type Column struct {
	Name string
	Type string // KalamDB data type name ("BigInt", "Text", …)
	PK   bool
}

// LiveRow is one row of a live table.
type LiveRow struct {
	Key       string // primary-key value(s) as text; the row's identity
	Values    Row
	Seq       int64     // _seq of the last change (0 if unknown)
	Change    RowChange // last change
	ChangedAt time.Time
}

// Recent reports whether the row's change marker is still shown at now.
func (r LiveRow) Recent(now time.Time) bool {
	return r.Change != ChangeNone && now.Sub(r.ChangedAt) < RecentChange
}

// GapWarning records a detected hole in a subscription's sequence.
type GapWarning struct {
	Time   time.Time
	Detail string
}

// SubStatus is a subscription's lifecycle status.
type SubStatus string

// Subscription statuses. Loading and LoadingBatch mirror the server's
// batch_control.status; Ready means live.
const (
	SubPending      SubStatus = "pending" // subscribe sent, no ack yet
	SubLoading      SubStatus = "loading"
	SubLoadingBatch SubStatus = "loading_batch"
	SubReady        SubStatus = "ready"
	SubFailed       SubStatus = "failed" // error frame; see Err/Code
	SubClosed       SubStatus = "closed" // unsubscribed
	// SubKilled: the server no longer holds it (KILL LIVE QUERY), found
	// by CheckLive; see Err.
	SubKilled SubStatus = "killed"
)

// SubHistoryEntry is one event in a subscription's life that explains
// its rows: a resume, a gap, a verification, a repair.
type SubHistoryEntry struct {
	Time   time.Time
	Kind   string // "resume", "gap", "verify", "repair", "failed"
	Detail string
}

// SubSnapshot summarises one subscription (rows are paged separately with
// Conn.SubRows).
type SubSnapshot struct {
	ID, SQL   string
	Status    SubStatus
	Columns   []Column
	Rows      int // rows kept (including recently deleted ones still shown)
	Cap       int // rows kept at most; older ones are evicted
	Received  int // rows received of any kind: initial, insert, update, delete
	Evicted   int // rows evicted by the cap
	BatchNum  int
	HasMore   bool
	TotalRows int // from the ack
	LastSeq   int64
	Inserts   int
	Updates   int
	Deletes   int
	Resumes   int // acks after reconnects
	Repairs   int // re-subscriptions by Repair
	Gaps      []GapWarning
	History   []SubHistoryEntry // oldest first, at most MaxSubHistory
	Verified  *Verification     // the last Verify (nil before any, after a Repair or a Shortfall); shared, read-only
	Shortfall *Shortfall        // a statement wrote more rows than changes arrived; cleared by Repair and a clean Verify
	Resume    *ResumeCheck      // the last resume on another cluster node (nil before any); shared, read-only
	Err, Code string
	Since     time.Time // subscribe time
	Updated   time.Time // last change of any kind
}

// resumePoint is one resume of a subscription: the client re-subscribed
// from the last _seq it had (from); firstAfter is the first _seq that
// arrived after it (0 until one does). Changes between the two that never
// arrived were lost across the reconnect.
type resumePoint struct {
	from, firstAfter int64
}

// maxResumePoints bounds the resume points remembered per table.
const maxResumePoints = 20

// liveTable holds a subscription's rows keyed by primary key, in arrival
// order. It is guarded by its Conn's mutex.
type liveTable struct {
	snap  SubSnapshot
	opts  SubscribeOptions // as subscribed, for Repair
	pk    []string
	rows  []LiveRow
	base  int            // absolute index of rows[0] (grows as old rows are evicted)
	byKey map[string]int // key → absolute index (base + position in rows)
	// deleted counts the rows marked deleted: prune, which every
	// snapshot and page runs, has nothing to look for without them.
	deleted int
	evicted evictedKeys
	// unrecorded counts evictions beyond maxEvictedKeys, whose keys are
	// not remembered.
	unrecorded int
	resumes    []resumePoint
	history    ring[SubHistoryEntry]
	verifyDue  bool // resumed: verify once ready (WithAutoVerify)
	// partial: the subscription loads only part of the table (last=N,
	// batch=0, from, or no initial data), so rows older than its window
	// are not expected in it; firstSeq is the first _seq it received.
	partial  bool
	firstSeq int64
	// version counts changes to rows; selection caches SubRowsQuery's
	// selection for one version.
	version   uint64
	selection *rowSelection
	pending   *pendingWrite // a statement's changes still expected (see Shortfall)
	ackConn   uint64        // the socket its last subscription_ack came on
	resume    *resumeWatch  // a resume on another node being checked (failover.go)
}

// acked reports whether the server acknowledged the subscription and it
// has not ended since.
func (t *liveTable) acked() bool {
	switch t.snap.Status {
	case SubLoading, SubLoadingBatch, SubReady:
		return true
	}
	return false
}

func newLiveTable(id, sql string, rowCap int, now time.Time) *liveTable {
	if rowCap <= 0 {
		rowCap = DefaultLiveRowCap
	}
	return &liveTable{snap: SubSnapshot{ID: id, SQL: sql, Status: SubPending, Cap: rowCap, Since: now, Updated: now},
		byKey: map[string]int{}, evicted: newEvictedKeys(), history: ring[SubHistoryEntry]{max: MaxSubHistory}}
}

// window is the _seq at or below which a partial subscription holds no
// rows by design: from, or just below the first row it received (the
// initial load comes in _seq order); before any, every row. Without
// initial data the true start (the server's last _seq when it
// subscribed) is unknown, so changes missed before the first one that
// arrived count as outside, not missing.
func (t *liveTable) window() int64 {
	if t.opts.From > 0 {
		return t.opts.From
	}
	if t.firstSeq == 0 {
		return math.MaxInt64
	}
	return t.firstSeq - 1
}

// partialLoad reports whether o loads only part of the table.
func partialLoad(o SubscribeOptions) bool {
	return o.NoInitialData || o.From > 0 || o.LastRows != nil || (o.BatchSize != nil && *o.BatchSize == 0)
}

// note adds an entry to the subscription's history.
func (t *liveTable) note(kind, detail string, now time.Time) {
	t.history.add(SubHistoryEntry{Time: now, Kind: kind, Detail: detail})
}

// reset empties the table for a fresh initial load (Repair), keeping its
// counters and history; the last verification and shortfall no longer
// apply.
func (t *liveTable) reset(now time.Time) {
	t.rows, t.base, t.deleted = nil, 0, 0
	t.version++
	clear(t.byKey)
	t.evicted.clear()
	t.unrecorded, t.resumes, t.firstSeq = 0, nil, 0
	t.pending, t.snap.Shortfall, t.snap.Verified = nil, nil, nil
	t.resume = nil
	t.snap.Status, t.snap.Err, t.snap.Code = SubPending, "", ""
	t.snap.LastSeq, t.snap.BatchNum, t.snap.HasMore = 0, 0, false
	t.snap.Updated = now
}

func (t *liveTable) setSchema(schema []SchemaField) {
	if len(schema) == 0 {
		return
	}
	cols := make([]Column, 0, len(schema))
	t.pk = t.pk[:0]
	for _, f := range schema {
		c := Column{Name: f.Name, Type: f.DataTypeName(), PK: slices.Contains(f.Flags, "pk")}
		if c.PK {
			t.pk = append(t.pk, f.Name)
		}
		cols = append(cols, c)
	}
	t.snap.Columns = cols
}

// key derives a row's identity (see rowKey).
func (t *liveTable) key(r Row) string { return rowKey(t.pk, r) }

// rowKey derives a row's identity: its primary-key columns pk, else an id
// column, else _seq, else all values.
func rowKey(pk []string, r Row) string {
	if len(pk) == 1 {
		return keyText(r[pk[0]])
	}
	if len(pk) > 1 {
		parts := make([]string, len(pk))
		for i, c := range pk {
			parts[i] = keyText(r[c])
		}
		return strings.Join(parts, "|")
	}
	if v, ok := r["id"]; ok {
		return keyText(v)
	}
	if s, ok := r.Seq(); ok {
		return fmt.Sprint(s)
	}
	return fmt.Sprint(map[string]any(r))
}

// keyText renders a key value; KalamDB sends BIGINT keys as strings, so
// the common case needs no formatting.
func keyText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case fmt.Stringer:
		return x.String() // json.Number
	}
	return fmt.Sprint(v)
}

func (t *liveTable) ack(schema []SchemaField, bc BatchControl, total int, resumed bool, now time.Time) {
	if resumed {
		// The client resumes from the last _seq it delivered, which is
		// the table's before this ack moves it.
		t.snap.Resumes++
		t.resumes = append(t.resumes, resumePoint{from: t.snap.LastSeq})
		if len(t.resumes) > maxResumePoints {
			t.resumes = t.resumes[1:]
		}
		t.note("resume", fmt.Sprintf("re-subscribed after a reconnect from _seq %d", t.snap.LastSeq), now)
	}
	t.setSchema(schema)
	t.batch(bc, now)
	t.snap.TotalRows = total
	t.snap.Err, t.snap.Code = "", ""
}

// sawSeq records that a change with seq arrived: it moves LastSeq and
// closes the window of the latest resume.
func (t *liveTable) sawSeq(seq int64) {
	if t.firstSeq == 0 && seq > 0 {
		t.firstSeq = seq
	}
	if seq > t.snap.LastSeq {
		t.snap.LastSeq = seq
	}
	if n := len(t.resumes); n > 0 && t.resumes[n-1].firstAfter == 0 && seq > t.resumes[n-1].from {
		t.resumes[n-1].firstAfter = seq
	}
}

func (t *liveTable) batch(bc BatchControl, now time.Time) {
	t.snap.BatchNum, t.snap.HasMore = bc.BatchNum, bc.HasMore
	switch bc.Status {
	case "loading":
		t.snap.Status = SubLoading
	case "loading_batch":
		t.snap.Status = SubLoadingBatch
	default:
		t.snap.Status = SubReady
	}
	if bc.LastSeqID != nil {
		t.sawSeq(*bc.LastSeqID)
	}
	t.snap.Updated = now
}

// upsert puts r in the table as the whole current version of its row: a
// new row, or the replacement of the one with the same key. An update's
// row replaces the old one too, never merges into it: KalamDB leaves a
// column set to NULL out of an update's rows (its old value is only in
// old_values), so a column absent from r is NULL, as in the official
// client's materializer (upstream backend/crates/kalamdb-live/src/notification.rs
// project_update_delta, link/link-common/src/subscription/live_rows_materializer.rs).
func (t *liveTable) upsert(r Row, change RowChange, now time.Time) {
	k := t.key(r)
	seq, _ := r.Seq()
	t.sawSeq(seq)
	t.snap.Received++
	t.version++
	if i, ok := t.byKey[k]; ok {
		lr := &t.rows[i-t.base]
		if lr.Change == ChangeDelete {
			t.deleted--
		}
		lr.Values, lr.Seq, lr.Change, lr.ChangedAt = r, seq, change, now
		return
	}
	t.add(LiveRow{Key: k, Values: r, Seq: seq, Change: change, ChangedAt: now})
}

// add appends a row with a key not in the table, evicting the oldest row
// when the table is at its cap.
func (t *liveTable) add(r LiveRow) {
	if len(t.rows) >= t.snap.Cap {
		t.evictOldest()
	}
	t.evicted.remove(r.Key)
	t.byKey[r.Key] = t.base + len(t.rows)
	t.rows = append(t.rows, r)
	if r.Change == ChangeDelete {
		t.deleted++
	}
}

// evictOldest drops the first row in O(1): later rows keep their absolute
// indexes; append reallocates the slice from time to time, which frees the
// evicted prefix. The key is remembered for Verify (a deleted row's is
// not: the row is gone either way).
func (t *liveTable) evictOldest() {
	old := t.rows[0]
	delete(t.byKey, old.Key)
	switch {
	case old.Change == ChangeDelete:
		t.deleted--
	case t.evicted.len() < maxEvictedKeys:
		t.evicted.set(old.Key, old.Seq)
	default:
		t.unrecorded++
	}
	t.rows[0] = LiveRow{}
	t.rows = t.rows[1:]
	t.base++
	t.snap.Evicted++
}

func (t *liveTable) markDeleted(old Row, now time.Time) {
	k := t.key(old)
	if seq, ok := old.Seq(); ok {
		t.sawSeq(seq)
	}
	t.snap.Received++
	t.version++
	t.evicted.remove(k)
	if i, ok := t.byKey[k]; ok {
		if t.rows[i-t.base].Change != ChangeDelete {
			t.deleted++
		}
		t.rows[i-t.base].Change, t.rows[i-t.base].ChangedAt = ChangeDelete, now
		return
	}
	// Deleted before we saw it: show it briefly anyway.
	t.add(LiveRow{Key: k, Values: old, Change: ChangeDelete, ChangedAt: now})
}

// prune removes deleted rows whose marker has expired.
func (t *liveTable) prune(now time.Time) {
	if t.deleted == 0 {
		return
	}
	expired := func(r *LiveRow) bool { return r.Change == ChangeDelete && !r.Recent(now) }
	// Find the first expired row before moving any: every snapshot and
	// page prunes, and most find nothing to remove.
	n := 0
	for n < len(t.rows) && !expired(&t.rows[n]) {
		n++
	}
	if n == len(t.rows) {
		return
	}
	for i := n + 1; i < len(t.rows); i++ {
		if !expired(&t.rows[i]) {
			t.rows[n] = t.rows[i]
			n++
		}
	}
	t.version++
	t.deleted -= len(t.rows) - n
	clear(t.rows[n:])
	t.rows = t.rows[:n]
	clear(t.byKey)
	t.base = 0
	for i, r := range t.rows {
		t.byKey[r.Key] = i
	}
}

func (t *liveTable) gap(detail string, now time.Time) {
	t.note("gap", detail, now)
	t.snap.Gaps = append(t.snap.Gaps, GapWarning{Time: now, Detail: detail})
	if len(t.snap.Gaps) > MaxGapWarnings {
		t.snap.Gaps = t.snap.Gaps[len(t.snap.Gaps)-MaxGapWarnings:]
	}
}

func (t *liveTable) snapshot(now time.Time) SubSnapshot {
	t.prune(now)
	t.checkPending(now)
	s := t.snap
	s.Rows = len(t.rows)
	s.Columns = slices.Clone(s.Columns)
	s.Gaps = slices.Clone(s.Gaps)
	s.History = t.history.snapshot()
	return s
}

func (t *liveTable) page(now time.Time, offset, n int) []LiveRow {
	t.prune(now)
	if offset < 0 {
		offset = 0
	}
	if offset >= len(t.rows) || n <= 0 {
		return nil
	}
	return slices.Clone(t.rows[offset:min(len(t.rows), offset+n)])
}

// apply applies one subscription event to the table: the client's own
// subscriptions' events (Conn.apply) and those a watched connection
// materialises from observed frames (watch.go) alike.
func (t *liveTable) apply(ev client.SubEvent, now time.Time) {
	t.snap.Updated = now
	switch ev.Kind {
	case client.SubAck:
		t.ack(ev.Schema, ev.Batch, 0, ev.Resumed, now)
	case client.SubBatch:
		t.sawAgain(ev.Rows)
		for _, r := range ev.Rows {
			t.upsert(r, ChangeInitial, now)
		}
		t.batch(ev.Batch, now)
	case client.SubInsert:
		t.sawAgain(ev.Rows)
		for _, r := range ev.Rows {
			t.upsert(r, ChangeInsert, now)
			t.snap.Inserts++
		}
	case client.SubUpdate:
		t.sawAgain(ev.Rows)
		for _, r := range ev.Rows {
			t.upsert(r, ChangeUpdate, now)
			t.snap.Updates++
		}
	case client.SubDelete:
		for _, r := range ev.OldValues {
			t.markDeleted(r, now)
			t.snap.Deletes++
		}
	case client.SubError:
		t.snap.Status, t.snap.Code = SubFailed, ev.Code
		t.snap.Err = errText(ev.Err)
		if t.snap.Err == "" {
			t.snap.Err = "subscription failed"
		}
		t.note("failed", t.snap.Err, now)
	case client.SubGap:
		t.gap(errText(ev.Err), now)
	}
}
