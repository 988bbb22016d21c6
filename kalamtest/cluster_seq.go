package kalamtest

import (
	"encoding/json"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// Each node of a cluster numbers rows itself. Upstream assigns _seq when a
// node applies an entry, not when the leader commits it: the applier
// reaches persist_insert_batch_rows → generate_seq_ids, a Snowflake whose
// time bits are the applying node's clock and whose worker bits are its
// node id (jamals86/KalamDB:
// backend/crates/kalamdb-tables/src/user_tables/user_table_provider.rs,
// extract_worker_id in backend/crates/kalamdb-core/src/app_context.rs;
// kalamdb-protocol §9.4). The same row so carries different _seq values on
// different nodes, and a resume's from taken on one node is compared with
// another node's numbers. kalamtest keeps one data set numbered by the
// engine and gives each node a mapping from the engine's _seq to its own,
// recorded as the node applies each change:
//
//   - while the node leads the change's group it keeps the engine's _seq
//     (the leader applies as it commits, so the two coincide);
//   - as a follower it takes a Snowflake of its own clock at apply time
//     (plus its clock skew, Cluster.SetClockSkew) with its node id as
//     worker, never below its previous one.
//
// Rows and batches a node sends on its sockets carry its numbers, and a
// from or last_seq_id it receives is read in its numbers. HTTP answers
// keep the engine's numbering, which is the leader's for the changes it
// applied as leader: a simplification, since upstream forwards reads to
// the group's leader, which numbered every row itself. A standalone
// server has no mapping: its numbers are the engine's.
type nodeSeqs struct {
	worker int64

	mu    sync.Mutex
	pairs []seqPair // in apply order: both fields increase
	last  int64     // the node's last assigned _seq
	skew  time.Duration
}

// seqPair maps one change's engine _seq to the node's.
type seqPair struct{ engine, node int64 }

// snowflakeEpochMillis is KalamDB's Snowflake epoch, 2024-01-01T00:00:00Z
// (as kalamtest's engine uses).
const snowflakeEpochMillis = 1704067200000

// assign numbers the change with engine _seq seq as this node applies it
// at now; leader says whether the node leads the change's group.
func (n *nodeSeqs) assign(seq int64, leader bool, now time.Time) int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	cand := seq
	if !leader {
		ms := max(now.Add(n.skew).UnixMilli()-snowflakeEpochMillis, 0)
		cand = ms<<22 | (n.worker&0x3ff)<<12
	}
	if cand <= n.last {
		cand = n.last + 1
	}
	n.last = cand
	if len(n.pairs) > 0 && n.pairs[len(n.pairs)-1].engine >= seq {
		// Out of order (cannot happen with one engine): keep the
		// mapping monotone by not recording it.
		return cand
	}
	if len(n.pairs) >= maxSeqPairs {
		// Forget the older half: rows last changed that long ago show
		// the engine's numbers on this node from then on.
		n.pairs = append(n.pairs[:0:0], n.pairs[len(n.pairs)/2:]...)
	}
	n.pairs = append(n.pairs, seqPair{engine: seq, node: cand})
	return cand
}

// maxSeqPairs bounds the changes a node remembers its numbers for (16 MiB
// of pairs), so a long-running cluster does not grow without end.
const maxSeqPairs = 1 << 20

// toNode is the node's _seq for the engine's seq; a row the node did not
// apply itself (bootstrap data) keeps the engine's.
func (n *nodeSeqs) toNode(seq int64) int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	i := sort.Search(len(n.pairs), func(i int) bool { return n.pairs[i].engine >= seq })
	if i < len(n.pairs) && n.pairs[i].engine == seq {
		return n.pairs[i].node
	}
	return seq
}

// toEngine reads a _seq in the node's numbering (a from or last_seq_id)
// as the engine's: the engine _seq of the last change the node numbered
// at or below it, so "rows after it" means the same rows on both sides.
func (n *nodeSeqs) toEngine(seq int64) int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	i := sort.Search(len(n.pairs), func(i int) bool { return n.pairs[i].node > seq })
	if i == 0 {
		if len(n.pairs) == 0 {
			return seq
		}
		return min(seq, n.pairs[0].engine-1)
	}
	return n.pairs[i-1].engine
}

// renumber rewrites the _seq of rows in place, keeping its wire type.
func (n *nodeSeqs) renumber(rows []client.Row) {
	if n == nil {
		return
	}
	for _, r := range rows {
		seq, ok := r.Seq()
		if !ok {
			continue
		}
		ns := n.toNode(seq)
		switch r["_seq"].(type) {
		case string:
			r["_seq"] = strconv.FormatInt(ns, 10)
		case json.Number:
			r["_seq"] = json.Number(strconv.FormatInt(ns, 10))
		default:
			r["_seq"] = ns
		}
	}
}

// engineSeq reads a client's _seq as the engine's (nil stays nil).
func (n *nodeSeqs) engineSeq(seq *int64) *int64 {
	if n == nil || seq == nil {
		return seq
	}
	e := n.toEngine(*seq)
	return &e
}

// SetClockSkew sets how far node id's clock is off when it numbers the
// changes it applies as a follower (negative: behind). A node whose clock
// is behind numbers rows lower than the others, so a resume moved onto it
// skips changes; ahead, higher, so a resume moved off it onto another node
// skips changes there. It affects changes applied from then on.
func (cl *Cluster) SetClockSkew(node int, d time.Duration) {
	n := cl.c.node(int64(node))
	if n == nil {
		return
	}
	if sq := n.seqs.Load(); sq != nil {
		sq.mu.Lock()
		sq.skew = d
		sq.mu.Unlock()
	}
}
