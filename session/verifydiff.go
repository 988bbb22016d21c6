package session

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// DiffKind says how a row of the live view differs from the server's.
type DiffKind uint8

// Row differences.
const (
	DiffMissing DiffKind = iota + 1 // the server has the row, the live view does not
	DiffExtra                       // the live view has a row the server no longer has
	DiffValues                      // both have it, with different values
)

// String returns "missing", "extra" or "values".
func (k DiffKind) String() string {
	switch k {
	case DiffMissing:
		return "missing"
	case DiffExtra:
		return "extra"
	case DiffValues:
		return "values"
	}
	return "?"
}

// Cause is the likely reason for a difference, where it can be told.
type Cause string

// Causes of a difference.
const (
	// CauseQueueDrop: the change was dropped by the server's bounded
	// per-connection notification queue while the socket was busy; later
	// changes did arrive. Nothing on the wire says so.
	CauseQueueDrop Cause = "queue drop"
	// CauseResumeGap: the change was lost across a reconnect (a resume
	// replays no deletions; a subscription without initial data resumes
	// with nothing).
	CauseResumeGap Cause = "resume gap"
	// CauseKilled: the server no longer has the live query (KILL LIVE
	// QUERY, or lost): nothing arrives after it.
	CauseKilled Cause = "killed"
	// CauseEnded: the subscription failed or was closed on this side.
	CauseEnded Cause = "ended"
	// CauseSilent: nothing arrived after the change's _seq; the live
	// query may have been killed on the server, or the newest changes
	// dropped. (system.live, which would tell, needs a DBA.)
	CauseSilent Cause = "silent"
	// CauseUnknown: the values differ at the same _seq.
	CauseUnknown Cause = "unknown"
)

// Explain says what the cause means, in words for a person.
func (c Cause) Explain() string {
	switch c {
	case CauseQueueDrop:
		return "dropped by the server's notification queue while the socket was busy (later changes did arrive)"
	case CauseResumeGap:
		return "lost across a reconnect: a resume replays no deletions, and a subscription without initial data resumes with nothing"
	case CauseKilled:
		return "the server no longer has this live query (killed, or lost): nothing arrives for it"
	case CauseEnded:
		return "the subscription failed or was closed"
	case CauseSilent:
		return "nothing arrived after this change: the live query may have been killed on the server, or the newest changes dropped (system.live would tell; it needs a DBA)"
	case CauseUnknown:
		return "the values differ at the same _seq"
	}
	return string(c)
}

// RowDiff is one row that differs.
type RowDiff struct {
	Kind      DiffKind
	Key       string
	Server    Row   // nil when the server does not have the row
	Live      Row   // nil when the live view does not have it
	ServerSeq int64 // _seq of the server's version (0: none)
	LiveSeq   int64 // _seq of the live view's version (0: none or unknown)
	Columns   []string
	Cause     Cause
}

// Describe is one line about the row for people: key, _seq on each side,
// and the differing values (or the row). It is outside text: sanitise it
// before it reaches a terminal.
func (d RowDiff) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "key %s", d.Key)
	if d.ServerSeq != 0 {
		fmt.Fprintf(&b, " server _seq %d", d.ServerSeq)
	}
	if d.LiveSeq != 0 {
		fmt.Fprintf(&b, " live _seq %d", d.LiveSeq)
	}
	switch d.Kind {
	case DiffValues:
		for _, col := range d.Columns {
			fmt.Fprintf(&b, "; %s: server %s, live %s", col, displayValue(d.Server[col]), displayValue(d.Live[col]))
		}
	case DiffMissing:
		b.WriteString(": " + rowSummary(d.Server))
	case DiffExtra:
		b.WriteString(": " + rowSummary(d.Live))
	}
	if d.Cause != "" {
		fmt.Fprintf(&b, " [%s]", d.Cause)
	}
	return b.String()
}

func displayValue(v any) string {
	if v == nil {
		return "NULL"
	}
	return fmt.Sprint(v)
}

// rowSummary renders a row as col=value pairs by column name, system
// columns left out, at most 120 characters.
func rowSummary(r Row) string {
	cols := make([]string, 0, len(r))
	for c := range r {
		if !strings.HasPrefix(c, "_") {
			cols = append(cols, c)
		}
	}
	slices.Sort(cols)
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = c + "=" + displayValue(r[c])
	}
	s := []rune(strings.Join(parts, " "))
	if len(s) > 120 {
		s = append(s[:119], '…')
	}
	return string(s)
}

// DiffSet counts the differences of one kind and keeps the first few.
type DiffSet struct {
	Count   int
	Samples []RowDiff     // the first few, in _seq order
	Causes  map[Cause]int // count per cause
}

// maxSamples is how many differences of each kind a Verification keeps.
const maxSamples = 5

func (d *DiffSet) add(r RowDiff) {
	d.Count++
	if len(d.Samples) < maxSamples {
		d.Samples = append(d.Samples, r)
	}
	if r.Cause != "" {
		if d.Causes == nil {
			d.Causes = map[Cause]int{}
		}
		d.Causes[r.Cause]++
	}
}

// Summary is "172 (queue drop 170, resume gap 2)" style text.
func (d DiffSet) Summary() string {
	if c := d.CauseSummary(); c != "" {
		return fmt.Sprintf("%d (%s)", d.Count, c)
	}
	return strconv.Itoa(d.Count)
}

// CauseSummary is "queue drop 170, resume gap 2": the count per cause,
// by cause name ("" when none was told).
func (d DiffSet) CauseSummary() string {
	causes := slices.Sorted(maps.Keys(d.Causes))
	parts := make([]string, 0, len(causes))
	for _, c := range causes {
		parts = append(parts, fmt.Sprintf("%s %d", c, d.Causes[c]))
	}
	return strings.Join(parts, ", ")
}

// sideRow is one row on one side of the comparison.
type sideRow struct {
	seq    int64
	values Row
}

// liveView is a copy of a live table taken for one comparison.
type liveView struct {
	rows       map[string]sideRow // rows currently shown as present (deleted ones left out)
	evicted    evictedKeys        // key → _seq of rows the cap evicted
	unrecorded int
	lastSeq    int64
	received   int
	status     SubStatus
	pk         []string
	resumes    []resumePoint
	// partial: the subscription did not load every row (see
	// liveTable.partial); rows at or below window were never expected.
	partial bool
	window  int64
}

// view copies the table for a comparison; callers hold the Conn's mutex.
func (t *liveTable) view() liveView {
	v := liveView{rows: make(map[string]sideRow, len(t.rows)), evicted: t.evicted.clone(),
		unrecorded: t.unrecorded, lastSeq: t.snap.LastSeq, received: t.snap.Received, status: t.snap.Status,
		pk: slices.Clone(t.pk), resumes: slices.Clone(t.resumes), partial: t.partial, window: t.window()}
	for _, r := range t.rows {
		if r.Change != ChangeDelete {
			v.rows[r.Key] = sideRow{seq: r.Seq, values: r.Values}
		}
	}
	return v
}

// diffResult is one comparison of the server's rows with a live view.
type diffResult struct {
	diffs []RowDiff // in _seq order
	// evicted counts server rows the cap evicted from the view, unchanged
	// since: no difference. (One that changed after its eviction is
	// missing, since the change would have brought it back.)
	evicted int
	// unsure counts server rows the view lacks when the table evicted
	// more rows than it remembers: they cannot be told from evicted ones,
	// so they are not reported.
	unsure int
	// outside counts server rows older than a partial subscription's
	// window (last=N, from, no initial data): never meant to be loaded.
	outside int
}

// diffRows compares the server's rows with the live view's.
func diffRows(server map[string]sideRow, live liveView) diffResult {
	var r diffResult
	for k, s := range server {
		l, ok := live.rows[k]
		if !ok {
			seq, gone := live.evicted.get(k)
			switch {
			case gone && (seq == s.seq || seq == 0):
				r.evicted++
				continue
			case live.partial && s.seq <= live.window:
				r.outside++
				continue
			case !gone && live.unrecorded > 0:
				r.unsure++
				continue
			}
			r.diffs = append(r.diffs, RowDiff{Kind: DiffMissing, Key: k, Server: s.values, ServerSeq: s.seq})
			continue
		}
		if cols := differentColumns(s.values, l.values); len(cols) > 0 {
			r.diffs = append(r.diffs, RowDiff{Kind: DiffValues, Key: k, Server: s.values, Live: l.values,
				ServerSeq: s.seq, LiveSeq: l.seq, Columns: cols})
		}
	}
	for k, l := range live.rows {
		if _, ok := server[k]; !ok {
			r.diffs = append(r.diffs, RowDiff{Kind: DiffExtra, Key: k, Live: l.values, LiveSeq: l.seq})
		}
	}
	slices.SortFunc(r.diffs, func(a, b RowDiff) int {
		return cmp.Or(cmp.Compare(max(a.ServerSeq, a.LiveSeq), max(b.ServerSeq, b.LiveSeq)), strings.Compare(a.Key, b.Key))
	})
	return r
}

// differentColumns lists the server's columns whose values the live row
// does not match (system columns aside: _seq is compared separately and
// _deleted is never sent in updates). A column the live row lacks counts
// as NULL.
func differentColumns(server, live Row) []string {
	var out []string
	for c, sv := range server {
		if strings.HasPrefix(c, "_") {
			continue
		}
		if valueText(sv) != valueText(live[c]) {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

// valueText renders a value canonically, so a value decoded from JSON
// (BIGINT as a string, numbers as json.Number) or MessagePack (int64,
// float64) compares equal to the same value from the other.
func valueText(v any) string {
	switch x := v.(type) {
	case nil:
		return "\x00NULL"
	case string:
		return x
	case json.Number:
		return numberText(string(x))
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case bool:
		return strconv.FormatBool(x)
	case map[string]any, []any:
		b, err := json.Marshal(x) // sorts map keys
		if err == nil {
			return string(b)
		}
	}
	return fmt.Sprint(v)
}

// numberText normalises a JSON number: integers as written, others
// through float64 (so 1.50 and 1.5 agree).
func numberText(s string) string {
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return s
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f == float64(int64(f)) && !strings.ContainsAny(s, "eE") && f < 1<<53 && f > -(1<<53) {
			return strconv.FormatInt(int64(f), 10)
		}
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return s
}

// liveQueryState is what system.live says about the subscription.
type liveQueryState uint8

const (
	liveQueryUnknown liveQueryState = iota // system.live not readable (needs a DBA)
	liveQueryPresent
	liveQueryAbsent
)

// cause tells the likely reason for d from what the view saw.
func (v liveView) cause(d RowDiff, lq liveQueryState) Cause {
	if d.Kind == DiffValues && d.ServerSeq == d.LiveSeq {
		return CauseUnknown
	}
	switch {
	case v.status == SubKilled || lq == liveQueryAbsent:
		return CauseKilled
	case v.status == SubFailed || v.status == SubClosed:
		return CauseEnded
	}
	if d.Kind == DiffExtra {
		// The deletion never arrived. A resume replays none.
		for _, r := range v.resumes {
			if d.LiveSeq <= r.from {
				return CauseResumeGap
			}
		}
		return CauseQueueDrop
	}
	seq := d.ServerSeq
	for _, r := range v.resumes {
		if seq > r.from && (r.firstAfter == 0 || seq < r.firstAfter) {
			return CauseResumeGap
		}
	}
	if seq > v.lastSeq && lq != liveQueryPresent {
		return CauseSilent
	}
	return CauseQueueDrop
}
