package session

import (
	"maps"
	"math"
	"slices"
	"strconv"
)

// evictedKeys remembers the keys of rows a live table's cap evicted, with
// the _seq each had, so Verify can tell a row the cap evicted from one
// that never arrived. A table under a firehose evicts a row per insert and
// remembers up to maxEvictedKeys of them, so this set is large and hot: a
// map that size costs a cache miss or two per insert. Rows are evicted in
// arrival order, and the keys of a stream of inserts are usually growing
// integers (KalamDB's BIGINT keys arrive as decimal text), so consecutive
// integer keys go into a run — a slice of _seq indexed by key − first —
// and only the rest into maps: integer keys as numbers (no pointers to
// scan, no key strings kept alive), other keys as text.
type evictedKeys struct {
	ints map[int64]int64
	strs map[string]int64
	run  evictedRun
}

// evictedRun holds the _seq of the consecutive integer keys first,
// first+1, …; a key no longer remembered holds absentSeq.
type evictedRun struct {
	first int64
	seqs  []int64
	live  int // entries that are not absentSeq
}

// absentSeq marks a run slot whose key is not remembered (a _seq of
// exactly this value goes to the map instead).
const absentSeq = math.MinInt64

func newEvictedKeys() evictedKeys {
	return evictedKeys{ints: map[int64]int64{}, strs: map[string]int64{}}
}

// intKey returns k as a number if k is exactly its decimal text: no sign
// but a leading '-', no leading zeros, no "-0", within int64.
func intKey(k string) (int64, bool) {
	if len(k) == 0 || len(k) > 20 || (k[0] == '0' && len(k) > 1) || k == "-0" ||
		(k[0] == '-' && len(k) > 1 && k[1] == '0') {
		return 0, false
	}
	for i := range len(k) {
		if c := k[i]; (c < '0' || c > '9') && (i > 0 || c != '-') {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(k, 10, 64)
	return n, err == nil
}

// slot returns n's index in the run, if the run covers it.
func (r *evictedRun) slot(n int64) (int, bool) {
	if len(r.seqs) == 0 || n < r.first || n-r.first >= int64(len(r.seqs)) {
		return 0, false
	}
	return int(n - r.first), true
}

func (e *evictedKeys) len() int { return len(e.ints) + len(e.strs) + e.run.live }

func (e *evictedKeys) set(k string, seq int64) {
	n, ok := intKey(k)
	switch {
	case !ok:
		e.strs[k] = seq
	case seq == absentSeq:
		e.remove(k)
		e.ints[n] = seq
	default:
		r := &e.run
		if i, in := r.slot(n); in {
			if r.seqs[i] == absentSeq {
				r.live++
			}
			r.seqs[i] = seq
			return
		}
		// The run grows by the next key (or starts, when empty). Keys
		// once remembered and then removed leave holes; the run stops
		// growing once it is mostly holes, and later keys use the map.
		if len(r.seqs) == 0 || n == r.first+int64(len(r.seqs)) && len(r.seqs) < 2*maxEvictedKeys {
			if len(r.seqs) == 0 {
				r.first = n
			}
			if _, dup := e.ints[n]; !dup {
				r.seqs = append(r.seqs, seq)
				r.live++
				return
			}
		}
		e.ints[n] = seq
	}
}

func (e *evictedKeys) get(k string) (seq int64, ok bool) {
	n, isInt := intKey(k)
	if !isInt {
		seq, ok = e.strs[k]
		return seq, ok
	}
	if i, in := e.run.slot(n); in && e.run.seqs[i] != absentSeq {
		return e.run.seqs[i], true
	}
	seq, ok = e.ints[n]
	return seq, ok
}

func (e *evictedKeys) remove(k string) {
	n, isInt := intKey(k)
	switch {
	case !isInt:
		if len(e.strs) > 0 {
			delete(e.strs, k)
		}
		return
	case len(e.ints) > 0:
		delete(e.ints, n)
	}
	if i, in := e.run.slot(n); in && e.run.seqs[i] != absentSeq {
		e.run.seqs[i] = absentSeq
		e.run.live--
	}
}

func (e *evictedKeys) clear() {
	clear(e.ints)
	clear(e.strs)
	e.run = evictedRun{}
}

func (e *evictedKeys) clone() evictedKeys {
	c := evictedKeys{ints: maps.Clone(e.ints), strs: maps.Clone(e.strs), run: e.run}
	c.run.seqs = slices.Clone(e.run.seqs)
	return c
}
