package ui

import (
	"slices"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// This file holds what a tab's connection can do beyond being looked at
// (the optional interfaces of backend.go), and the key bindings that
// follow from it: a binding for an action the connection lacks is
// disabled, so help and footer leave it out, and pressing it says why.

// capabilities are the optional interfaces of a tab's connection; a nil
// field is one the connection lacks.
type capabilities struct {
	controls Controls
	sql      SQL
	faults   Faults
	rows     LiveRows     // paging through kept rows
	tables   LiveTables   // …and verifying and repairing them
	composer Composer     // hand-written frames (poke.go)
	swapper  TokenSwapper // token swaps (poke.go)
	steering Steering     // a watched application's connection (steering.go)
	cluster  Cluster      // the server's Raft cluster (cluster.go)
}

// capabilitiesOf asks c for each optional interface.
func capabilitiesOf(c Conn) capabilities {
	var can capabilities
	can.controls, _ = c.(Controls)
	can.sql, _ = c.(SQL)
	can.faults, _ = c.(Faults)
	can.rows, _ = c.(LiveRows)
	can.tables, _ = c.(LiveTables)
	can.composer, _ = c.(Composer)
	can.swapper, _ = c.(TokenSwapper)
	can.steering, _ = c.(Steering)
	can.cluster, _ = c.(Cluster)
	return can
}

// capKey is capabilities as a comparable value, for render-cache keys.
type capKey struct{ controls, sql, faults, rows, tables, composer, swapper, steering, cluster bool }

func (can capabilities) key() capKey {
	return capKey{controls: can.controls != nil, sql: can.sql != nil, faults: can.faults != nil, rows: can.rows != nil, tables: can.tables != nil,
		composer: can.composer != nil, swapper: can.swapper != nil, steering: can.steering != nil, cluster: can.cluster != nil}
}

// globalKeys returns g with the bindings the connection lacks disabled.
func (can capabilities) globalKeys(g KeyMap) KeyMap {
	g.Compression.SetEnabled(can.controls != nil)
	return g
}

// tokenKeys returns k with the bindings the connection lacks disabled.
func (can capabilities) tokenKeys(k TokenKeyMap) TokenKeyMap {
	for _, b := range []*key.Binding{&k.Refresh, &k.UseRefresh, &k.Policy, &k.Longer, &k.Shorter, &k.Reconnect} {
		b.SetEnabled(can.controls != nil)
	}
	k.Expire.SetEnabled(can.faults != nil)
	k.Drop.SetEnabled(can.faults != nil)
	k.Swap.SetEnabled(can.swapper != nil)
	k.ClearSwap.SetEnabled(can.swapper != nil)
	return k
}

// clusterKeys returns k with every binding disabled when the connection
// cannot ask about its cluster.
func (can capabilities) clusterKeys(k ClusterKeyMap) ClusterKeyMap {
	for _, b := range []*key.Binding{&k.OpenAll, &k.Compare, &k.Poll, &k.OnlyDiffs, &k.OtherTab, &k.CheckToken} {
		b.SetEnabled(can.cluster != nil)
	}
	return k
}

// inspectorKeys returns k with the bindings the connection lacks disabled.
func (can capabilities) inspectorKeys(k InspectorKeyMap) InspectorKeyMap {
	k.Compose.SetEnabled(can.composer != nil)
	k.Resend.SetEnabled(can.composer != nil)
	return k
}

// dataKeys returns k with the bindings the connection lacks disabled.
func (can capabilities) dataKeys(k DataKeyMap) DataKeyMap {
	for _, b := range []*key.Binding{&k.SQL, &k.Subscribe, &k.Unsubscribe, &k.CheckLive} {
		b.SetEnabled(can.sql != nil)
	}
	for _, b := range []*key.Binding{&k.Filter, &k.Order} {
		b.SetEnabled(can.rows != nil)
	}
	for _, b := range []*key.Binding{&k.Verify, &k.Repair} {
		b.SetEnabled(can.tables != nil)
	}
	return k
}

// unavailable says that what (a key's or command's action) needs
// something this connection lacks: fault controls are the demo server's,
// everything else is missing on read-only connections (recordings).
func (m *Model) unavailable(what string, fault bool) {
	if fault {
		m.say(true, "%s works only against the embedded demo server", what)
		return
	}
	m.say(true, "%s is not available: this connection is read-only", what)
}

// pressedDisabled reports whether msg presses one of bindings while it is
// disabled, and returns that binding's help text.
func pressedDisabled(msg tea.KeyPressMsg, bindings ...key.Binding) (string, bool) {
	for _, b := range bindings {
		if !b.Enabled() && slices.Contains(b.Keys(), msg.String()) {
			return b.Help().Desc, true
		}
	}
	return "", false
}
