package app

import (
	"context"
	"fmt"
	"slices"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/session"
	"github.com/kalamdash/kalamdash/ui"
)

// This file implements ui.Cluster over the session: the Cluster view's
// poll, a connection per node, and the replica comparison.

// PollCluster implements ui.Cluster.
func (c *conn) PollCluster(ctx context.Context) (ui.ClusterInfo, error) {
	st, err := c.c.PollCluster(ctx)
	if err != nil {
		return ui.ClusterInfo{}, err
	}
	out := ui.ClusterInfo{ClusterID: st.ClusterID, Source: string(st.Source), SourceNote: st.SourceNote,
		MetaLeader: st.MetaLeader, PolledAt: st.PolledAt, Err: st.Err, Token: st.Token}
	for _, n := range st.Nodes {
		out.Nodes = append(out.Nodes, ui.ClusterNode{ID: n.ID, URL: n.URL, Node: client.NodeKey(n.URL), APIAddr: n.APIAddr, Role: n.Role, Status: n.Status,
			IsSelf: n.IsSelf, IsLeader: n.IsLeader, GroupsLeading: n.GroupsLeading, TotalGroups: n.TotalGroups,
			Applied: n.Applied, Lag: n.Lag, Version: n.Version, Hostname: n.Hostname,
			Answered: n.Answered, ProbeErr: n.ProbeErr, TokenOK: n.TokenOK, TokenErr: n.TokenErr, ChangedAt: n.ChangedAt})
	}
	for _, g := range st.Groups {
		out.Groups = append(out.Groups, ui.ClusterGroup{ID: g.ID, Name: session.GroupName(g.ID, g.Type), Leader: g.Leader,
			Term: g.Term, ChangedAt: g.ChangedAt})
	}
	for _, ch := range st.Changes {
		out.Changes = append(out.Changes, ui.ClusterChange{Time: ch.Time, Text: ch.Text})
	}
	return out, nil
}

// OpenNode implements ui.Cluster: the new connection shares this one's
// credentials (session.Manager.OpenOnNode).
func (c *conn) OpenNode(ctx context.Context, url, name string) (ui.Conn, error) {
	sc, err := c.mgr.OpenOnNode(ctx, c.c, url, uniqueName(c.mgr, name))
	if err != nil {
		return nil, err
	}
	return &conn{c: sc, mgr: c.mgr}, nil
}

// CompareReplica implements ui.Cluster.
func (c *conn) CompareReplica(sub string, other ui.Conn, otherSub string, q ui.ReplicaQuery) (ui.ReplicaDiff, error) {
	oc := sessionConnOf(other)
	if oc == nil {
		return ui.ReplicaDiff{}, fmt.Errorf("%s is not a live connection: only live tabs can be compared", other.ID())
	}
	d, err := session.CompareReplicas(c.c, sub, oc, otherSub, session.ReplicaQuery{Offset: q.Offset, Limit: q.Limit, OnlyDiffs: q.OnlyDiffs})
	if err != nil {
		return ui.ReplicaDiff{}, err
	}
	info, ok := c.c.Subscription(sub)
	if !ok {
		return ui.ReplicaDiff{}, fmt.Errorf("no subscription %q", sub)
	}
	out := ui.ReplicaDiff{Total: d.Total, OnlyA: d.OnlyA, OnlyB: d.OnlyB, Differ: d.Differ, Keys: d.Keys, Evicted: d.Evicted}
	for _, col := range info.Columns {
		out.Columns = append(out.Columns, col.Name)
	}
	for _, r := range d.Rows {
		row := ui.ReplicaRow{Key: r.Key, Differ: make([]bool, len(info.Columns))}
		if r.A != nil {
			row.A = rowOf(info.Columns, session.LiveRow{Values: r.A}).Values
		}
		if r.B != nil {
			row.B = rowOf(info.Columns, session.LiveRow{Values: r.B}).Values
		}
		switch r.Kind {
		case session.DiffMissing:
			row.Kind = "only-a"
		case session.DiffExtra:
			row.Kind = "only-b"
		case session.DiffValues:
			row.Kind = "values"
		}
		for i, col := range info.Columns {
			row.Differ[i] = slices.Contains(r.Columns, col.Name)
		}
		out.Rows = append(out.Rows, row)
	}
	return out, nil
}

// sessionConnOf returns the session connection behind a live tab, nil for
// any other kind of tab (a recording).
func sessionConnOf(c ui.Conn) *session.Conn {
	switch x := c.(type) {
	case *conn:
		return x.c
	case demoConn:
		return x.c
	}
	return nil
}
