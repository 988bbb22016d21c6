package session

import (
	"fmt"
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

// MaxLiveRows bounds each live table; beyond it the oldest-inserted rows
// are dropped and counted in SubSnapshot.Dropped.
const MaxLiveRows = 10_000

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
)

// SubSnapshot summarises one subscription (rows are paged separately with
// Conn.SubRows).
type SubSnapshot struct {
	ID, SQL   string
	Status    SubStatus
	Columns   []Column
	Rows      int // rows held (including recently deleted ones still shown)
	BatchNum  int
	HasMore   bool
	TotalRows int // from the ack
	LastSeq   int64
	Inserts   int
	Updates   int
	Deletes   int
	Dropped   int // rows dropped by MaxLiveRows
	Resumes   int // acks after reconnects
	Gaps      []GapWarning
	Err, Code string
	Since     time.Time // subscribe time
	Updated   time.Time // last change of any kind
}

// liveTable holds a subscription's rows keyed by primary key, in arrival
// order. It is guarded by its Conn's mutex.
type liveTable struct {
	snap  SubSnapshot
	pk    []string
	rows  []LiveRow
	base  int            // absolute index of rows[0] (grows as old rows are dropped)
	byKey map[string]int // key → absolute index (base + position in rows)
}

func newLiveTable(id, sql string, now time.Time) *liveTable {
	return &liveTable{snap: SubSnapshot{ID: id, SQL: sql, Status: SubPending, Since: now, Updated: now},
		byKey: map[string]int{}}
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

// key derives a row's identity: its PK columns, else _seq, else all values.
func (t *liveTable) key(r Row) string {
	if len(t.pk) == 1 {
		return keyText(r[t.pk[0]])
	}
	if len(t.pk) > 1 {
		parts := make([]string, len(t.pk))
		for i, c := range t.pk {
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
	t.setSchema(schema)
	t.batch(bc, now)
	t.snap.TotalRows = total
	if resumed {
		t.snap.Resumes++
	}
	t.snap.Err, t.snap.Code = "", ""
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
	if bc.LastSeqID != nil && *bc.LastSeqID > t.snap.LastSeq {
		t.snap.LastSeq = *bc.LastSeqID
	}
	t.snap.Updated = now
}

// upsert merges r into the table (updates carry only some columns).
func (t *liveTable) upsert(r Row, change RowChange, now time.Time) {
	k := t.key(r)
	seq, _ := r.Seq()
	if seq > t.snap.LastSeq {
		t.snap.LastSeq = seq
	}
	if i, ok := t.byKey[k]; ok {
		lr := &t.rows[i-t.base]
		if change == ChangeUpdate {
			merged := make(Row, len(lr.Values)+len(r))
			for c, v := range lr.Values {
				merged[c] = v
			}
			for c, v := range r {
				merged[c] = v
			}
			lr.Values = merged
		} else {
			lr.Values = r
		}
		lr.Seq, lr.Change, lr.ChangedAt = seq, change, now
		return
	}
	if len(t.rows) >= MaxLiveRows {
		t.dropOldest()
	}
	t.byKey[k] = t.base + len(t.rows)
	t.rows = append(t.rows, LiveRow{Key: k, Values: r, Seq: seq, Change: change, ChangedAt: now})
}

// dropOldest drops the first row in O(1): later rows keep their absolute
// indexes; append reallocates the slice from time to time, which frees the
// dropped prefix.
func (t *liveTable) dropOldest() {
	delete(t.byKey, t.rows[0].Key)
	t.rows[0] = LiveRow{}
	t.rows = t.rows[1:]
	t.base++
	t.snap.Dropped++
}

func (t *liveTable) markDeleted(old Row, now time.Time) {
	k := t.key(old)
	if seq, ok := old.Seq(); ok && seq > t.snap.LastSeq {
		t.snap.LastSeq = seq
	}
	if i, ok := t.byKey[k]; ok {
		t.rows[i-t.base].Change, t.rows[i-t.base].ChangedAt = ChangeDelete, now
		return
	}
	// Deleted before we saw it: show it briefly anyway.
	if len(t.rows) >= MaxLiveRows {
		t.dropOldest()
	}
	t.byKey[k] = t.base + len(t.rows)
	t.rows = append(t.rows, LiveRow{Key: k, Values: old, Change: ChangeDelete, ChangedAt: now})
}

// prune removes deleted rows whose marker has expired.
func (t *liveTable) prune(now time.Time) {
	n := 0
	for _, r := range t.rows {
		if r.Change == ChangeDelete && !r.Recent(now) {
			continue
		}
		t.rows[n] = r
		n++
	}
	if n == len(t.rows) {
		return
	}
	clear(t.rows[n:])
	t.rows = t.rows[:n]
	clear(t.byKey)
	t.base = 0
	for i, r := range t.rows {
		t.byKey[r.Key] = i
	}
}

func (t *liveTable) gap(detail string, now time.Time) {
	t.snap.Gaps = append(t.snap.Gaps, GapWarning{Time: now, Detail: detail})
	if len(t.snap.Gaps) > MaxGapWarnings {
		t.snap.Gaps = t.snap.Gaps[len(t.snap.Gaps)-MaxGapWarnings:]
	}
}

func (t *liveTable) snapshot(now time.Time) SubSnapshot {
	t.prune(now)
	s := t.snap
	s.Rows = len(t.rows)
	s.Columns = slices.Clone(s.Columns)
	s.Gaps = slices.Clone(s.Gaps)
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
