package session

import (
	"fmt"
	"slices"
)

// This file compares the same live query held on two connections, as a
// live consistency check between two replicas: each KalamDB node sends
// its subscribers the changes it has applied itself, so a follower's view
// trails the leader's by its replication lag, and a row on one side only
// (or with other values) is a replica that has not caught up, or has
// diverged (kalamdb-protocol.md §9.4). Rows are matched by primary key
// with Verify's comparer; _seq is left out, since each node assigns its
// own.

// ReplicaRow is one primary key of a replica comparison, with its row on
// each side (nil where that side lacks it).
type ReplicaRow struct {
	Key  string
	A, B Row
	// Kind is 0 when both sides agree; DiffMissing: only A has it;
	// DiffExtra: only B has it; DiffValues: both, with other values (in
	// Columns).
	Kind    DiffKind
	Columns []string
}

// ReplicaDiff is a comparison of two live views of one query.
type ReplicaDiff struct {
	Columns []string // A's columns, in order
	// Rows are the keys q selects, in key order: up to q.Limit of them
	// from q.Offset.
	Rows  []ReplicaRow
	Total int // keys q selects
	// OnlyA, OnlyB and Differ count the differing keys of the whole
	// comparison (not only Rows); Keys counts every key.
	OnlyA, OnlyB, Differ, Keys int
	// Evicted counts the keys not compared because one side's row cap
	// evicted them (the other side still keeps them).
	Evicted int
}

// dropEvicted removes from other the rows that v's row cap evicted: v no
// longer holds them, which says nothing about its node. It returns how
// many it removed.
func dropEvicted(v, other liveView) int {
	n := 0
	for k := range other.rows {
		if _, gone := v.evicted.get(k); gone {
			delete(other.rows, k)
			n++
		}
	}
	return n
}

// Clean reports whether the two sides hold the same rows.
func (d ReplicaDiff) Clean() bool { return d.OnlyA+d.OnlyB+d.Differ == 0 }

// ReplicaQuery pages through a comparison.
type ReplicaQuery struct {
	Offset, Limit int  // Limit ≤ 0: every row
	OnlyDiffs     bool // only the keys that differ
}

// CompareReplicas compares subscription aSub of connection a with
// subscription bSub of connection b by primary key. It reads the kept
// rows only (no network), so it is cheap enough to run on every refresh.
func CompareReplicas(a *Conn, aSub string, b *Conn, bSub string, q ReplicaQuery) (ReplicaDiff, error) {
	av, acols, err := a.replicaView(aSub)
	if err != nil {
		return ReplicaDiff{}, err
	}
	bv, _, err := b.replicaView(bSub)
	if err != nil {
		return ReplicaDiff{}, err
	}
	out := ReplicaDiff{Columns: acols}
	out.Evicted = dropEvicted(av, bv) + dropEvicted(bv, av)
	// Verify's comparer with A in the server's place: "missing" is a row
	// only A has, "extra" one only B has. The two sides' _seq come from
	// different nodes, so its _seq-based allowances (an eviction at the
	// same _seq, a partial subscription's window) cannot apply: evictions
	// were set aside above.
	bv.evicted, bv.partial = newEvictedKeys(), false
	res := diffRows(av.rows, bv)
	diffs := make(map[string]RowDiff, len(res.diffs))
	for _, d := range res.diffs {
		diffs[d.Key] = d
		switch d.Kind {
		case DiffMissing:
			out.OnlyA++
		case DiffExtra:
			out.OnlyB++
		case DiffValues:
			out.Differ++
		}
	}
	keys := make([]string, 0, len(av.rows)+out.OnlyB)
	for k := range av.rows {
		keys = append(keys, k)
	}
	for k, d := range diffs {
		if d.Kind == DiffExtra {
			keys = append(keys, k)
		}
	}
	out.Keys = len(keys)
	if q.OnlyDiffs {
		keys = slices.DeleteFunc(keys, func(k string) bool { _, ok := diffs[k]; return !ok })
	}
	slices.SortFunc(keys, compareKeys)
	out.Total = len(keys)
	from := min(max(q.Offset, 0), len(keys))
	to := len(keys)
	if q.Limit > 0 {
		to = min(from+q.Limit, len(keys))
	}
	for _, k := range keys[from:to] {
		r := ReplicaRow{Key: k}
		if s, ok := av.rows[k]; ok {
			r.A = s.values
		}
		if s, ok := bv.rows[k]; ok {
			r.B = s.values
		}
		if d, ok := diffs[k]; ok {
			r.Kind, r.Columns = d.Kind, d.Columns
		}
		out.Rows = append(out.Rows, r)
	}
	return out, nil
}

// replicaView copies subscription id's rows for a comparison, with its
// column names.
func (c *Conn) replicaView(id string) (liveView, []string, error) {
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.subs[id]
	if t == nil {
		return liveView{}, nil, fmt.Errorf("%s has no subscription %q", c.name, id)
	}
	t.prune(now)
	cols := make([]string, 0, len(t.snap.Columns))
	for _, col := range t.snap.Columns {
		cols = append(cols, col.Name)
	}
	return t.view(), cols, nil
}
