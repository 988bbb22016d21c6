package session

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/kalamdash/kalamdash/client"
)

// maxIndexes bounds the per-filter index cache; the least recently used
// index is dropped beyond it.
const maxIndexes = 8

// Filter selects frames of a FrameLog. The zero Filter matches everything.
// All set conditions must hold.
type Filter struct {
	Direction    client.Direction // 0: both directions
	Opcodes      []client.Opcode  // any of these opcodes (e.g. OpPing, OpPong, OpClose); empty: any
	Types        []string         // message types (Frame.Type); empty: any
	Subscription string           // subscription ID; empty: any
	// Text is matched against the decoded payload (the wire payload when
	// there is none), the type and the subscription ID: a substring,
	// case-insensitive unless it contains an upper-case letter, or a Go
	// regular expression when Regex is set.
	Text  string
	Regex bool
}

// IsZero reports whether f matches every frame.
func (f Filter) IsZero() bool {
	return f.Direction == 0 && len(f.Opcodes) == 0 && len(f.Types) == 0 && f.Subscription == "" && f.Text == ""
}

// Validate reports an invalid regular expression, with a hint.
func (f Filter) Validate() error {
	if f.Regex && f.Text != "" {
		if _, err := regexp.Compile(f.Text); err != nil {
			return fmt.Errorf("filter %q is not a valid regular expression (%v); turn regex mode off to search for it literally", f.Text, err)
		}
	}
	return nil
}

func (f Filter) key() string {
	types := slices.Clone(f.Types)
	sort.Strings(types)
	ops := make([]byte, 0, len(f.Opcodes))
	for _, o := range f.Opcodes {
		ops = append(ops, '0'+byte(o))
	}
	slices.Sort(ops)
	return strconv.Itoa(int(f.Direction)) + "\x00" + string(ops) + "\x00" + strings.Join(types, "\x01") + "\x00" +
		f.Subscription + "\x00" + strconv.FormatBool(f.Regex) + "\x00" + f.Text
}

// matcher is a compiled Filter.
type matcher struct {
	f      Filter
	re     *regexp.Regexp
	needle []byte
	fold   bool // ASCII case-insensitive substring
	bad    bool // invalid regex: matches nothing
}

func compile(f Filter) *matcher {
	m := &matcher{f: f}
	if f.Text == "" {
		return m
	}
	if f.Regex {
		re, err := regexp.Compile(f.Text)
		if err != nil {
			m.bad = true
			return m
		}
		m.re = re
		return m
	}
	m.needle = []byte(f.Text)
	m.fold = !strings.ContainsFunc(f.Text, unicode.IsUpper)
	if m.fold {
		m.needle = bytes.ToLower(m.needle)
	}
	return m
}

func (m *matcher) match(l *FrameLog, id uint64, r *rec) bool {
	if m.bad {
		return false
	}
	if m.f.Direction != 0 && client.Direction(r.dir) != m.f.Direction {
		return false
	}
	if len(m.f.Opcodes) > 0 && !slices.Contains(m.f.Opcodes, client.Opcode(r.op)) {
		return false
	}
	if len(m.f.Types) > 0 && !slices.Contains(m.f.Types, l.types.name(uint32(r.typ))) {
		return false
	}
	if m.f.Subscription != "" && l.subs.name(r.sub) != m.f.Subscription {
		return false
	}
	if m.f.Text == "" {
		return true
	}
	return m.find(l.text(id, r)) || m.findString(l.types.name(uint32(r.typ))) || m.findString(l.subs.name(r.sub))
}

func (m *matcher) find(b []byte) bool {
	switch {
	case m.re != nil:
		return m.re.Match(b)
	case m.fold:
		return containsFold(b, m.needle)
	}
	return bytes.Contains(b, m.needle)
}

func (m *matcher) findString(s string) bool {
	switch {
	case s == "":
		return false
	case m.re != nil:
		return m.re.MatchString(s)
	case m.fold:
		return containsFold(s, m.needle)
	}
	return strings.Contains(s, m.f.Text)
}

// containsFold reports whether b contains the lower-case needle, comparing
// ASCII letters case-insensitively, without allocating.
func containsFold[T string | []byte](b T, needle []byte) bool {
	n := len(needle)
	if n == 0 {
		return true
	}
	first := needle[0]
	for i := 0; i+n <= len(b); i++ {
		if lower(b[i]) != first {
			continue
		}
		j := 1
		for ; j < n && lower(b[i+j]) == needle[j]; j++ {
		}
		if j == n {
			return true
		}
	}
	return false
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// index is the cached list of IDs matching one filter.
type index struct {
	m       *matcher
	ids     []uint64 // ascending; ids[start:] are live
	start   int
	scanned uint64 // highest ID examined
	used    uint64 // LRU tick
}

// indexFor returns the up-to-date index for f (nil for the zero filter,
// which is served straight from the ring).
func (l *FrameLog) indexFor(f Filter) *index {
	if f.IsZero() {
		return nil
	}
	k := f.key()
	ix := l.idx[k]
	if ix == nil {
		if len(l.idx) >= maxIndexes {
			l.dropLRU()
		}
		ix = &index{m: compile(f)}
		l.idx[k] = ix
	}
	l.tick++
	ix.used = l.tick
	l.catchUp(ix)
	return ix
}

func (l *FrameLog) dropLRU() {
	var oldK string
	var old uint64
	for k, ix := range l.idx {
		if oldK == "" || ix.used < old {
			oldK, old = k, ix.used
		}
	}
	delete(l.idx, oldK)
}

// catchUp drops evicted IDs from ix and scans the frames appended since
// its last use.
func (l *FrameLog) catchUp(ix *index) {
	live := ix.ids[ix.start:]
	if len(live) > 0 && live[0] < l.firstID {
		ix.start += sort.Search(len(live), func(i int) bool { return live[i] >= l.firstID })
	}
	// Compact once the dead prefix dominates, keeping appends amortised O(1).
	if ix.start > 1024 && ix.start > len(ix.ids)/2 {
		n := copy(ix.ids, ix.ids[ix.start:])
		ix.ids, ix.start = ix.ids[:n], 0
	}
	if l.n == 0 {
		return
	}
	from := max(ix.scanned+1, l.firstID)
	last := l.lastIDLocked()
	for id := from; id <= last; id++ {
		if ix.m.match(l, id, l.at(id)) {
			ix.ids = append(ix.ids, id)
		}
	}
	ix.scanned = max(ix.scanned, last)
}

// Len returns how many held frames match f.
func (l *FrameLog) Len(f Filter) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ix := l.indexFor(f); ix != nil {
		return len(ix.ids) - ix.start
	}
	return l.n
}

// Page returns up to n frames matching f, starting at the offset-th match
// (0 = oldest held match), oldest first. To follow the tail, use
// offset = Len(f)-n.
func (l *FrameLog) Page(f Filter, offset, n int) []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	if offset < 0 {
		offset = 0
	}
	if n <= 0 {
		return nil
	}
	ix := l.indexFor(f)
	total := l.n
	if ix != nil {
		total = len(ix.ids) - ix.start
	}
	if offset >= total {
		return nil
	}
	n = min(n, total-offset)
	out := make([]Entry, n)
	for i := range n {
		id := l.firstID + uint64(offset+i)
		if ix != nil {
			id = ix.ids[ix.start+offset+i]
		}
		out[i] = l.entry(id)
	}
	return out
}

// IndexOf returns the position of frame id among the frames matching f (as
// used by Page's offset), or -1 if it is not held or does not match. The UI
// uses it to keep a selection stable while old frames are evicted.
func (l *FrameLog) IndexOf(f Filter, id uint64) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == 0 || id < l.firstID || id > l.lastIDLocked() {
		return -1
	}
	ix := l.indexFor(f)
	if ix == nil {
		return int(id - l.firstID)
	}
	live := ix.ids[ix.start:]
	i, ok := slices.BinarySearch(live, id)
	if !ok {
		return -1
	}
	return i
}
