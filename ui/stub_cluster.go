package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// This file gives the stub connection a three-node cluster (Cluster) with
// deterministic data, for tests and screenshots: tests move its leader,
// stop a node or give it hostile text, and the next poll shows it.

// stubCluster is the cluster every stub connection belongs to.
type stubCluster struct {
	now     func() time.Time
	base    int // port of node 1; node k listens on base+k-1
	leader  int64
	term    int64
	down    map[int64]string // node → why it does not answer
	downAt  time.Time
	host    string // hostname of every node (tests make it hostile)
	changes []ClusterChange
	moved   time.Time
}

func newStubCluster(now func() time.Time) *stubCluster {
	return &stubCluster{now: now, base: 38080, leader: 1, term: 1, down: map[int64]string{}, host: "kalam-1"}
}

func (s *stubCluster) url(node int64) string {
	return fmt.Sprintf("http://127.0.0.1:%d", s.base+int(node)-1)
}

// moveLeader makes node the Meta group's leader (`lead N 10`); the data
// groups stay with node 1.
func (s *stubCluster) moveLeader(node int64) {
	s.term++
	s.changes = append(s.changes, ClusterChange{Time: s.now(),
		Text: fmt.Sprintf("group 10 meta: leader node %d → node %d (term %d)", s.leader, node, s.term)})
	s.leader, s.moved = node, s.now()
}

// stopNode makes node stop answering, saying why.
func (s *stubCluster) stopNode(node int64, why string) {
	s.down[node], s.downAt = why, s.now()
	s.changes = append(s.changes, ClusterChange{Time: s.now(), Text: fmt.Sprintf("node %d: does not answer", node)})
}

// info is the cluster as the stub's node at url sees it.
func (s *stubCluster) info(url string) ClusterInfo {
	in := ClusterInfo{ClusterID: "kalamdb-cluster", Source: "system.cluster_groups", MetaLeader: s.leader,
		PolledAt: s.now(), Changes: append([]ClusterChange(nil), s.changes...), Token: "3fa9c1d2"}
	for id := int64(1); id <= 3; id++ {
		n := ClusterNode{ID: id, URL: s.url(id), Node: s.url(id), APIAddr: s.url(id), Role: "follower", Status: "active",
			IsSelf: url == s.url(id), IsLeader: id == s.leader, TotalGroups: 10,
			Applied: new(int64(1200)), Lag: new(int64(0)), Version: "0.4.1", Hostname: s.host, Answered: true, TokenOK: true}
		if id == s.leader {
			n.Role = "leader"
			n.GroupsLeading++
		}
		if id == 1 {
			n.GroupsLeading += 9 // the data groups
		}
		if why, ok := s.down[id]; ok {
			n.Answered, n.ProbeErr, n.TokenOK, n.TokenErr, n.Applied, n.Lag = false, why, false, why, nil, nil
			n.Status, n.ChangedAt = "offline", s.downAt
		}
		in.Nodes = append(in.Nodes, n)
	}
	in.Groups = append(in.Groups, ClusterGroup{ID: 10, Name: "10 meta", Leader: s.leader, Term: s.term, ChangedAt: s.moved})
	for i := int64(0); i < 8; i++ {
		in.Groups = append(in.Groups, ClusterGroup{ID: 100 + i, Name: fmt.Sprintf("%d user shard %d", 100+i, i), Leader: 1, Term: 1})
	}
	in.Groups = append(in.Groups, ClusterGroup{ID: 200, Name: "200 shared shard 0", Leader: 1, Term: 1})
	return in
}

// PollCluster implements Cluster.
func (c *stubConn) PollCluster(context.Context) (ClusterInfo, error) {
	if c.closed {
		return ClusterInfo{}, errors.New("connection is closed")
	}
	return c.cluster.info(c.snap.URL), nil
}

// OpenNode implements Cluster with another stub connection on url.
func (c *stubConn) OpenNode(_ context.Context, url, name string) (Conn, error) {
	n := newStubConn(c.id+"-"+name, LoginRequest{Name: name, URL: url, User: c.snap.User}, c.now)
	n.cluster = c.cluster
	n.snap.Subs = nil
	if c.opened != nil {
		*c.opened = append(*c.opened, n)
	}
	return n, nil
}

// CompareReplica implements Cluster over the two stub connections' rows.
func (c *stubConn) CompareReplica(sub string, other Conn, otherSub string, q ReplicaQuery) (ReplicaDiff, error) {
	o, ok := other.(*stubConn)
	if !ok {
		return ReplicaDiff{}, fmt.Errorf("%s is not a live connection", other.ID())
	}
	c.compares++
	a, b := c.sub(sub), o.sub(otherSub)
	if a == nil || b == nil {
		return ReplicaDiff{}, errors.New("no such subscription")
	}
	d := ReplicaDiff{Columns: a.Columns}
	bRows := map[string]Row{}
	for _, r := range b.Rows {
		bRows[r.Key] = r
	}
	var rows []ReplicaRow
	for _, r := range a.Rows {
		row := ReplicaRow{Key: r.Key, A: r.Values, Differ: make([]bool, len(a.Columns))}
		if br, ok := bRows[r.Key]; ok {
			row.B = br.Values
			for i := range r.Values {
				if i < len(br.Values) && br.Values[i] != r.Values[i] && !strings.HasPrefix(a.Columns[i], "_") {
					row.Differ[i], row.Kind = true, "values"
				}
			}
			delete(bRows, r.Key)
		} else {
			row.Kind = "only-a"
		}
		rows = append(rows, row)
	}
	for _, r := range b.Rows {
		if _, left := bRows[r.Key]; left {
			rows = append(rows, ReplicaRow{Key: r.Key, B: r.Values, Kind: "only-b", Differ: make([]bool, len(a.Columns))})
		}
	}
	d.Keys = len(rows)
	for _, r := range rows {
		switch r.Kind {
		case "only-a":
			d.OnlyA++
		case "only-b":
			d.OnlyB++
		case "values":
			d.Differ++
		}
		if !q.OnlyDiffs || r.Kind != "" {
			d.Rows = append(d.Rows, r)
		}
	}
	d.Total = len(d.Rows)
	from := min(q.Offset, len(d.Rows))
	to := len(d.Rows)
	if q.Limit > 0 {
		to = min(from+q.Limit, to)
	}
	d.Rows = d.Rows[from:to]
	return d, nil
}

func (c *stubConn) sub(id string) *Sub {
	for i := range c.snap.Subs {
		if c.snap.Subs[i].ID == id {
			return &c.snap.Subs[i]
		}
	}
	return nil
}
