package ui

import (
	"strings"
	"sync/atomic"
	"time"

	"github.com/kalamdash/kalamdash/theme"
)

// This file holds View's render caches.
//
// Bubble Tea calls View after every Update, unthrottled: a key that does
// nothing, a mouse event, a coalesced events window that changed nothing on
// screen all cost a full render. So every part of the screen is cached under
// a key holding everything its output depends on, and a part is rendered
// again only when its key changes. Keys, not dirty flags: Update never has
// to remember to invalidate anything, and a stale entry cannot be shown
// because a different input is a different key. Parts that move with the
// clock (countdowns, expiry bars, change highlights, notices) are keyed by
// what they show (the countdown to the second, the bar's length), not by
// the time, so they re-render when the text changes, not on every View.
//
// The Model is a value that Update copies, so the cache lives behind a
// pointer all copies share; that is safe because every entry is keyed by
// its inputs, whichever copy renders. Each cache holds one entry (the last
// render of that part) except the frame-row cache, which keeps the rows of
// the last two renders. A nil *renderCache renders everything afresh (tests
// compare the two). Like View itself, it is used from one goroutine.
//
// Still rendered on every View: the text inputs that hold a cursor (login
// fields, filter, palette) and the keys themselves (a few formatted
// numbers per View).

// renderSeq numbers style sets and detail renders. It is global so two
// copies of a model can never give different content the same number.
var renderSeq atomic.Uint64

func nextRenderID() uint64 { return renderSeq.Add(1) }

// slot is a one-entry cache of a rendered string.
type slot[K comparable] struct {
	ok  bool
	key K
	val string
}

func (s *slot[K]) get(k K) (string, bool) {
	if s.ok && s.key == k {
		return s.val, true
	}
	return "", false
}

func (s *slot[K]) put(k K, v string) { s.ok, s.key, s.val = true, k, v }

// renderCache holds the last render of each part of the screen.
type renderCache struct {
	frame slot[frameKey] // the whole screen
	block slot[blockKey] // the body laid into its cells
	small slot[[2]int]   // the too-small notice or the empty screen
	login slot[loginKey]

	top     slot[topKey]
	viewBar slot[viewBarKey]
	status  slot[statusParts]
	footer  slot[footerKey]

	help   slot[helpKey]
	token  tokenCache
	subs   slot[subsKey]
	sql    slot[sqlKey]
	panes  slot[panesKey] // frames view: list and detail side by side or stacked
	det    slot[detViewKey]
	insp   inspCache
	hdr    slot[hdrKey]
	rows   rowCache
	pieces *rowStyles
}

func newRenderCache() *renderCache { return &renderCache{} }

// frameKey is the whole screen: its five parts (compared by content; equal
// parts from the part caches share their bytes, so the comparison is
// cheap) and the size.
type frameKey struct {
	top, viewBar, block, status, footer string
	w, h                                int
}

// blockKey is the body laid into exactly w×h cells.
type blockKey struct {
	body   string
	fitted bool
	w, h   int
}

// boxFitted is box for lines that are all exactly w cells wide already
// (fit's output): it does not measure them again.
func boxFitted(lines []string, w, h int) string {
	var b strings.Builder
	b.Grow(h * (w + 1))
	for i := 0; i < h; i++ {
		if i > 0 {
			b.WriteByte('\n')
		}
		if i < len(lines) {
			b.WriteString(lines[i])
		} else {
			b.WriteString(strings.Repeat(" ", max(w, 0)))
		}
	}
	return b.String()
}

// inspKey is everything the frame list shows apart from its rows.
type inspKey struct {
	stID           uint64
	focused        bool
	width, height  int
	filter         FrameFilter
	filterErr      string
	total, cursor  int
	top, pausedNew int
	follow, paused bool
	prevConn       uint64
}

// inspCache is the last render of the frame list, keyed by inspKey and the
// displayed fields of its rows.
type inspCache struct {
	ok   bool
	key  inspKey
	rows []rowKey
	val  string
}

// rowKey is every field of a frame that its list row shows (not its
// payload: rows do not show it). Two frames with equal rowKeys render the
// same row, whatever their IDs.
type rowKey struct {
	time                                              time.Time
	dir, opcode, encoding, typ, sub, closeReason, err string
	wireSize, decodedSize, closeCode, status          int
	connID                                            uint64 // marks the first row of a new socket
}

func rowKeyOf(f Frame) rowKey {
	return rowKey{time: f.Time, dir: f.Dir, opcode: f.Opcode, encoding: f.Encoding, typ: f.Type, sub: f.Sub,
		closeReason: f.CloseReason, err: f.Err, wireSize: f.WireSize, decodedSize: f.DecodedSize,
		closeCode: f.CloseCode, status: f.Status, connID: f.ConnID}
}

// inspector renders the frame list, or returns the last render when
// nothing it shows changed. While the filter is being edited the list is
// laid out afresh (the title holds the input and its cursor) from cached
// rows.
func (c *renderCache) inspector(in *inspector, st *theme.Styles, stID uint64, focused bool, width int) string {
	if in.editing {
		return in.render(st, focused, width, &rowRenderer{cache: c, stID: stID})
	}
	k := inspKey{stID: stID, focused: focused, width: width, height: in.height, filter: in.filter,
		filterErr: in.filterErr, total: in.total, cursor: in.cursor, top: in.top, pausedNew: in.pausedNew,
		follow: in.follow, paused: in.paused, prevConn: in.prevConn}
	ic := &c.insp
	hit := ic.ok && ic.key == k && len(ic.rows) == len(in.rows)
	for i := 0; hit && i < len(in.rows); i++ {
		hit = ic.rows[i] == rowKeyOf(in.rows[i])
	}
	if hit {
		return ic.val
	}
	ic.rows = ic.rows[:0]
	for _, f := range in.rows {
		ic.rows = append(ic.rows, rowKeyOf(f))
	}
	ic.ok, ic.key = true, k
	ic.val = in.render(st, focused, width, &rowRenderer{cache: c, stID: stID})
	return ic.val
}

// rowCache keeps the rendered list rows of the last two renders, so
// moving the selection or scrolling by a few rows renders only the rows
// that changed.
type rowCache struct {
	cur, prev map[rowCacheKey]string
}

type rowCacheKey struct {
	row            rowKey
	stID           uint64
	width          int
	sel, newSocket bool
}

// rowRenderer renders the list's header and rows through the cache during
// one render.
type rowRenderer struct {
	cache *renderCache
	stID  uint64
	next  map[rowCacheKey]string
}

// hdrKey is everything the list header shows.
type hdrKey struct {
	stID  uint64
	width int
}

func (r *rowRenderer) header(in *inspector, st *theme.Styles, width int) string {
	k := hdrKey{r.stID, width}
	if v, ok := r.cache.hdr.get(k); ok {
		return v
	}
	v := fit(in.header(st, width), width)
	r.cache.hdr.put(k, v)
	return v
}

// row returns the row fitted to width, from the cache when the last two
// renders had it.
func (r *rowRenderer) row(in *inspector, st *theme.Styles, f Frame, width int, sel, newSocket bool) string {
	k := rowCacheKey{row: rowKeyOf(f), stID: r.stID, width: width, sel: sel, newSocket: newSocket}
	rc := &r.cache.rows
	v, ok := rc.cur[k]
	if !ok {
		v, ok = rc.prev[k]
	}
	if !ok {
		if r.cache.pieces == nil || r.cache.pieces.stID != r.stID {
			r.cache.pieces = newRowStyles(st, r.stID)
		}
		v = in.row(st, r.cache.pieces, f, width, sel, newSocket)
		if sel {
			// Only the selected row is styled after its fit.
			v = fit(v, width)
		}
	}
	if r.next == nil {
		r.next = make(map[rowCacheKey]string, len(in.rows))
	}
	r.next[k] = v
	return v
}

// done makes this render's rows the cache's newest generation.
func (r *rowRenderer) done() {
	rc := &r.cache.rows
	rc.prev, rc.cur = rc.cur, r.next
}

// detViewKey is everything the detail pane shows: gen identifies the frame
// and its rendered lines (detail.show numbers every render).
type detViewKey struct {
	stID                        uint64
	gen                         uint64
	has, focused                bool
	mode, offset, height, width int
}

func (c *renderCache) detail(d *detail, st theme.Styles, stID uint64, focused bool, width int) string {
	k := detViewKey{stID: stID, gen: d.gen, has: d.has, focused: focused, mode: d.mode, offset: d.offset, height: d.height, width: width}
	if v, ok := c.det.get(k); ok {
		return v
	}
	v := d.View(st, focused, width)
	c.det.put(k, v)
	return v
}
