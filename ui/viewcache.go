package ui

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// This file has the cached parts of View; see cache.go for the rules.
// Each method computes its part's key from the model (cheap: plain values
// and strings), returns the cached string when the key is unchanged, and
// otherwise renders the part and remembers it.

// topKey is everything the top bar shows.
type topKey struct {
	stID         uint64
	width        int
	active       int
	labels       string // every tab's label, NUL-separated
	demo, reveal bool
}

func (m *Model) cachedTopBar() string {
	k := topKey{stID: m.stID, width: m.width, active: m.active}
	if len(m.tabs) > 0 {
		var b strings.Builder
		for i := range m.tabs {
			if i > 0 {
				b.WriteByte(0)
			}
			b.WriteString(m.tabLabel(i))
		}
		k.labels = b.String()
	}
	if t := m.current(); t != nil {
		k.demo, k.reveal = t.snap.Demo, t.reveal
	}
	if v, ok := m.rc.top.get(k); ok {
		return v
	}
	v := fit(m.topBar(), m.width)
	m.rc.top.put(k, v)
	return v
}

// viewBarKey is everything the view bar shows.
type viewBarKey struct {
	stID  uint64
	width int
	view  int
	sum   summaryParts
}

func (m *Model) cachedViewBar(t *tab) string {
	k := viewBarKey{stID: m.stID, width: m.width, view: t.view, sum: summaryOf(t.snap, m.now())}
	if v, ok := m.rc.viewBar.get(k); ok {
		return v
	}
	v := fit(m.viewBar(t, k.sum), m.width)
	m.rc.viewBar.put(k, v)
	return v
}

func (m *Model) cachedStatus(t *tab) string {
	k := statusOf(t.snap, m.now(), m.width)
	k.stID = m.stID
	if v, ok := m.rc.status.get(k); ok {
		return v
	}
	v := fit(renderStatus(*m.st, k), m.width)
	m.rc.status.put(k, v)
	return v
}

// Footer contents.
const (
	footerHelp = iota
	footerNotice
	footerDown
)

// footerKey is everything the footer shows (the palette is not cached:
// its input has a cursor and suggestions).
type footerKey struct {
	stID       uint64
	width      int
	kind       int
	text, hint string
	err        bool
	// short help: which panel has the keys
	view, focus              int
	inspEditing, dataEditing bool
	can                      capKey
	composing                bool // the composer or the swap dialog has the keys
	replicas                 bool // the Cluster view's replicas pane has the keys
}

func (m *Model) cachedFooter(t *tab) string {
	noticeOn := m.notice.text != "" && m.now().Before(m.notice.until)
	if m.paletteOn {
		return fit(m.footer(t, noticeOn), m.width)
	}
	k := footerKey{stID: m.stID, width: m.width}
	switch s := t.snap; {
	case noticeOn:
		k.kind, k.text, k.err = footerNotice, m.notice.text, m.notice.err
	case s.LastError != "" && s.State != "connected" && s.State != "":
		k.kind, k.text, k.hint = footerDown, s.LastError, s.Hint
	default:
		k.kind = footerHelp
		k.view, k.focus, k.inspEditing, k.dataEditing, k.can = t.view, t.focus, t.insp.editing, t.data.typing(), t.can.key()
		k.composing = t.comp.open || t.swap.open
		k.replicas = t.cl.replicas
	}
	if v, ok := m.rc.footer.get(k); ok {
		return v
	}
	v := fit(m.footer(t, noticeOn), m.width)
	m.rc.footer.put(k, v)
	return v
}

// helpKey is everything the full help shows. The focused view and pane
// decide which group comes first (and which are left out when the
// terminal is small), so help opened on one view is not shown on another.
type helpKey struct {
	stID          uint64
	width, height int
	can           capKey
	view, focus   int
}

// panesKey is the frames view: the list and the detail pane (compared by
// content; cached ones share their bytes) and the layout.
type panesKey struct {
	stID      uint64
	list, det string
	l         layoutInfo
	width     int
}

// cachedBody renders the body: the help, or the current view. fitted
// reports that every line is exactly m.width cells wide already.
func (m *Model) cachedBody(t *tab) (body string, fitted bool) {
	l := m.layout()
	if m.showHelp {
		k := helpKey{stID: m.stID, width: m.width, height: l.bodyH, can: t.can.key(), view: t.view, focus: t.focus}
		if v, ok := m.rc.help.get(k); ok {
			return v, false
		}
		v := m.fullHelp(t, l.bodyH)
		m.rc.help.put(k, v)
		return v, false
	}
	switch t.view {
	case viewToken:
		if nodes := m.tokenNodesLines(t); len(nodes) > 0 && !t.swap.open {
			// The token on every node of the cluster, below the panel.
			return m.cachedTokenView(t, max(l.bodyH-len(nodes), 1)) + "\n" + strings.Join(nodes, "\n"), false
		}
		return m.cachedTokenView(t, l.bodyH), false
	case viewCluster:
		// Small, and moves with the poll's age: not cached.
		return m.clusterView(t, l.bodyH), false
	case viewData:
		return m.cachedDataView(t, t.can.rows, l.bodyH), false
	}
	if t.comp.open {
		// The editor has a cursor and changes with every key: not cached.
		socket := fmt.Sprintf("socket #%d (%s)", t.snap.ConnID, t.snap.State)
		return composerView(*m.st, &t.comp, socket, m.secrets(t), m.width, l.bodyH), false
	}
	k := panesKey{stID: m.stID, l: l, width: m.width}
	k.list = m.rc.inspector(&t.insp, m.st, m.stID, t.focus == 0, l.listW)
	k.det = m.rc.detail(&t.det, *m.st, m.stID, t.focus == 1, l.detailW)
	if v, ok := m.rc.panes.get(k); ok {
		return v, true
	}
	v := m.panes(l, k.list, k.det)
	m.rc.panes.put(k, v)
	return v, true
}

// cachedBlock lays the body into exactly width×h cells; fitted says its
// lines are m.width cells wide already, so they need no measuring.
func (m *Model) cachedBlock(body string, fitted bool, h int) string {
	k := blockKey{body: body, fitted: fitted, w: m.width, h: h}
	if v, ok := m.rc.block.get(k); ok {
		return v
	}
	var v string
	if fitted {
		v = boxFitted(strings.Split(body, "\n"), m.width, h)
	} else {
		v = box(strings.Split(body, "\n"), m.width, h)
	}
	m.rc.block.put(k, v)
	return v
}

// tokenKey is the token view's size, theme and clock-dependent parts; the
// snapshot it shows is compared beside it (tokenCache).
type tokenKey struct {
	stID          uint64
	width, height int
	clock         tokenClock
	can           capKey // which key hints show
}

// tokenCache is the last token view and the snapshot it showed (a deep
// copy, so a backend that reuses its slices cannot change it).
type tokenCache struct {
	ok   bool
	key  tokenKey
	snap Snapshot
	val  string
}

// cachedTokenView renders the token view, or returns the last one when the
// snapshot, the size and the clock-dependent parts (countdowns to the
// second, bar lengths) are unchanged: the view then changes once a second,
// not on every message.
func (m *Model) cachedTokenView(t *tab, height int) string {
	if t.swap.open {
		// The dialog has an input with a cursor: not cached.
		return swapperView(*m.st, &t.swap, m.now(), m.width, height)
	}
	// The view gets exactly what the key compares: subscriptions and
	// sparklines are not on it, and would make the comparison slow.
	s := t.snap
	s.Subs = nil
	s.Stats.FramesPerSec, s.Stats.BytesPerSec = nil, nil
	k := tokenKey{stID: m.stID, width: m.width, height: height, clock: tokenClockOf(s, m.now(), m.width), can: t.can.key()}
	c := &m.rc.token
	if c.ok && c.key == k && reflect.DeepEqual(c.snap, s) {
		return c.val
	}
	v := tokenViewAt(*m.st, s, k.clock, t.can.tokenKeys(m.tokenKeys), m.width, height)
	s.Rotations, s.Providers = slices.Clone(s.Rotations), slices.Clone(s.Providers)
	*c = tokenCache{ok: true, key: k, snap: s, val: v}
	return v
}

// loginKey is everything the login form shows, its text inputs as rendered.
type loginKey struct {
	stID                      uint64
	width, height             int
	focus, auth, profile      int
	noCompress, msgpack, busy bool
	cachedToken               bool
	err, hint, banner, paste  string
	profiles                  string // profile names, NUL-separated
	inputs                    loginInputs
}

// cachedLogin renders the login screen; only the text inputs are rendered
// on every View (they hold the cursor), the form around them when they or
// the form's state changed.
func (m *Model) cachedLogin(w, h int) string {
	f := m.login
	k := loginKey{stID: m.stID, width: w, height: h, focus: f.focus, auth: f.auth, profile: f.profile,
		noCompress: f.noCompress, msgpack: f.msgpack, busy: f.busy, err: f.err, hint: f.hint, banner: f.banner, paste: f.pasteNote,
		cachedToken: f.cachedToken(), inputs: f.inputViews()}
	if len(f.profiles) > 0 {
		var b strings.Builder
		for _, p := range f.profiles {
			b.WriteString(p.Name)
			b.WriteByte(0)
		}
		k.profiles = b.String()
	}
	if v, ok := m.rc.login.get(k); ok {
		return v
	}
	v := box(strings.Split(f.render(*m.st, w, h, k.inputs), "\n"), w, h)
	m.rc.login.put(k, v)
	return v
}

// keyBuf encodes a key's variable-length contents into one string:
// length-prefixed, so no two different contents encode alike.
type keyBuf []byte

func (b *keyBuf) str(s string) {
	*b = strconv.AppendInt(*b, int64(len(s)), 10)
	*b = append(*b, ':')
	*b = append(*b, s...)
}

func (b *keyBuf) num(n int64) {
	*b = strconv.AppendInt(*b, n, 10)
	*b = append(*b, ';')
}

// subsKey is everything the subscriptions part of the data view shows:
// the panel state before View clamps it, and content, the encoded tab
// labels, the selected subscription's fields and its rows with their
// change highlights.
type subsKey struct {
	stID           uint64
	width, height  int
	typing         bool
	sel, offset    int
	follow         bool
	query          RowQuery
	filter         string // the filter input as drawn, while filtering
	showVerify     bool
	verifying      bool
	verified       *Verification
	kept, received int
	content        string
}

// sqlKey is everything the SQL console shows. A result is a new value per
// query (handleQuery), so its pointer identifies it.
type sqlKey struct {
	stID              uint64
	width, height     int
	editing, running  bool
	readOnly          bool // the connection has no SQL console
	input             string
	resultSQL, resErr string
	result            *QueryResult
}

// cachedDataView renders the data view from its two cached parts; lt
// pages the rows of connections that keep them (nil: the snapshot's).
func (m *Model) cachedDataView(t *tab, lt LiveRows, height int) string {
	d := &t.data
	sqlH := d.sqlHeight(height)
	return m.cachedSubs(d, t.snap.Subs, lt, height-sqlH) + "\n" + m.cachedSQL(d, sqlH)
}

func (m *Model) cachedSubs(d *dataPanel, subs []Sub, lt LiveRows, height int) string {
	now := m.now() // one reading for the key and the render
	if lt != nil {
		// The rows come from lt page by page: fetching the page is the
		// render's main cost, so there is nothing to save by a key.
		return d.subsView(*m.st, subs, lt, now, true, m.width, height)
	}
	k := subsKey{stID: m.stID, width: m.width, height: height, typing: d.typing(), sel: d.sel, offset: d.offset,
		follow: d.follow, query: d.query, showVerify: d.showVerify}
	if d.filtering {
		k.filter = d.filter.View()
	}
	var b keyBuf
	b.num(int64(len(subs)))
	if len(subs) > 0 {
		for _, s := range subs {
			b.str(s.ID)
			b.str(s.Status)
			b.num(int64(keptRows(s)))
		}
		s := subs[clamp(d.sel, 0, len(subs)-1)]
		for _, f := range []string{s.SQL, s.Status, s.PK, s.Gap, s.Err, s.Shortfall, s.Failover} {
			b.str(f)
		}
		k.verifying, k.verified, k.kept, k.received = d.verifying[s.ID], s.Verified, s.Kept, s.Received
		b.num(s.LastSeq)
		b.num(s.Changes)
		b.num(int64(len(s.Columns)))
		for _, c := range s.Columns {
			b.str(c)
		}
		for _, r := range s.Rows {
			b.num(int64(len(r.Values)))
			for _, v := range r.Values {
				b.str(v.Text)
				if v.Null {
					b.num(1)
				} else {
					b.num(0)
				}
			}
			hl := ""
			if r.Change != "" && now.Sub(r.ChangedAt) < highlightFor {
				hl = r.Change
			}
			b.str(hl)
		}
	}
	k.content = string(b)
	if v, ok := m.rc.subs.get(k); ok {
		return v
	}
	v := d.subsView(*m.st, subs, nil, now, true, m.width, height)
	m.rc.subs.put(k, v)
	return v
}

func (m *Model) cachedSQL(d *dataPanel, height int) string {
	k := sqlKey{stID: m.stID, width: m.width, height: height, editing: d.editing, running: d.running,
		readOnly: !d.keys.SQL.Enabled(), resErr: d.resultErr, result: d.result}
	if d.editing {
		d.input.SetWidth(max(m.width-14, 10)) // as sqlView does
		k.input = d.input.View()
	}
	if d.running {
		k.resultSQL = d.resultSQL
	}
	if v, ok := m.rc.sql.get(k); ok {
		return v
	}
	v := d.sqlView(*m.st, true, m.width, height)
	m.rc.sql.put(k, v)
	return v
}
