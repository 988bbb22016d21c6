package session

import (
	"bytes"
	"math"
	"sync"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// Default FrameLog caps.
const (
	DefaultMaxFrames = 200_000
	DefaultMaxBytes  = 128 << 20
)

// recOverhead is what one frame costs besides its payload, for the byte
// cap: the record itself (64 bytes) plus room for index entries.
const recOverhead = 80

// FrameLog is a bounded, filterable store of tapped frames. It keeps at
// most MaxFrames frames and MaxBytes bytes (payloads plus a fixed per-frame
// overhead), evicting the oldest first and counting evictions. Filtered
// views are served from per-filter index slices that are created on first
// use and then extended incrementally, so Len and Page cost O(n) in the page
// size and O(new frames) in catching up, whatever the log's size.
//
// Records hold no pointers and payloads are copied into large shared
// chunks, so a log of a million frames adds almost nothing to garbage
// collection work. Frames returned by Page and Get point into those chunks:
// they stay valid after eviction but must not be modified.
//
// A FrameLog is safe for concurrent use.
type FrameLog struct {
	mu       sync.Mutex
	maxN     int
	maxBytes int64

	recs    []rec // ring; len(recs) grows up to maxN
	head    int   // position of the oldest record
	n       int   // records held
	firstID uint64
	bytes   int64

	arena  arena
	big    map[uint64][]byte    // payloads > bigPayload, by frame ID
	extras map[uint64]*recExtra // rare fields, by frame ID

	evicted      uint64
	evictedBytes int64
	appended     uint64

	types intern
	subs  intern

	idx  map[string]*index
	tick uint64
}

// rec is the compact, pointer-free stored form of a Frame (64 bytes).
type rec struct {
	unixNano    int64
	seq         uint64
	chunk       uint32 // arena chunk number
	off         uint32 // payload offset in the chunk
	wireLen     int32
	decLen      int32 // decSame: decoded == wire, stored once; decNil: no decoded bytes
	wireSize    int32
	decodedSize int32
	sub         uint32
	connID      uint32
	typ         uint16
	dir         uint8
	op          uint8
	enc         uint8
	extra       bool
}

const (
	decSame = -1
	decNil  = -2
)

// recExtra holds rarely set fields, kept out of line to save memory.
type recExtra struct {
	closeCode   int
	closeReason string
	status      int
	duration    time.Duration
	err         string
	composed    bool
}

// LogStats summarises a FrameLog.
type LogStats struct {
	Len          int    // frames held
	Bytes        int64  // bytes accounted (payload + overhead)
	FirstID      uint64 // oldest held ID (0 when empty)
	LastID       uint64 // newest ID ever appended (0 when none)
	Appended     uint64 // frames ever appended
	Evicted      uint64 // frames evicted by the caps
	EvictedBytes int64
	MaxFrames    int
	MaxBytes     int64
}

// NewFrameLog returns a log holding at most maxFrames frames and maxBytes
// bytes; values ≤ 0 select DefaultMaxFrames / DefaultMaxBytes.
func NewFrameLog(maxFrames int, maxBytes int64) *FrameLog {
	if maxFrames <= 0 {
		maxFrames = DefaultMaxFrames
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	return &FrameLog{maxN: maxFrames, maxBytes: maxBytes, firstID: 1,
		idx: map[string]*index{}, extras: map[uint64]*recExtra{}, big: map[uint64][]byte{}}
}

// Append stores copies of frames, evicting the oldest as the caps require,
// and returns the ID of the last one stored (0 if frames is empty).
func (l *FrameLog) Append(frames ...client.Frame) (lastID uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range frames {
		lastID = l.appendLocked(&frames[i])
	}
	return lastID
}

func (l *FrameLog) appendLocked(f *client.Frame) uint64 {
	r := rec{
		unixNano:    unixNano(f.Time),
		seq:         f.Seq,
		wireLen:     int32(len(f.Wire)),
		wireSize:    int32(f.WireSize),
		decodedSize: int32(f.DecodedSize),
		sub:         l.subs.id(f.SubscriptionID),
		connID:      uint32(f.ConnID),
		typ:         uint16(l.types.id(f.Type)),
		dir:         uint8(f.Direction),
		op:          uint8(f.Opcode),
		enc:         uint8(f.Encoding),
	}
	var stored int
	switch {
	case f.Decoded == nil:
		r.decLen = decNil
		stored = len(f.Wire)
	case bytes.Equal(f.Wire, f.Decoded):
		r.decLen = decSame
		stored = len(f.Wire)
	default:
		r.decLen = int32(len(f.Decoded))
		stored = len(f.Wire) + len(f.Decoded)
	}
	size := int64(stored) + recOverhead
	for l.n > 0 && (l.n >= l.maxN || l.bytes+size > l.maxBytes) {
		l.evictOldest()
	}
	if l.n == len(l.recs) {
		l.grow()
	}
	id := l.firstID + uint64(l.n)
	var dst []byte
	switch {
	case stored == 0:
	case stored > bigPayload:
		r.chunk = bigChunk
		dst = make([]byte, stored)
		l.big[id] = dst
	default:
		r.chunk, r.off = l.arena.alloc(stored, id)
		dst = l.arena.bytes(r.chunk, r.off, stored)
	}
	n := copy(dst, f.Wire)
	if r.decLen > 0 {
		copy(dst[n:], f.Decoded)
	}
	if f.CloseCode != 0 || f.CloseReason != "" || f.Status != 0 || f.Duration != 0 || f.Err != "" || f.Composed {
		r.extra = true
		l.extras[id] = &recExtra{closeCode: f.CloseCode, closeReason: f.CloseReason, status: f.Status,
			duration: f.Duration, err: f.Err, composed: f.Composed}
	}
	l.recs[(l.head+l.n)%len(l.recs)] = r
	l.n++
	l.bytes += size
	l.appended++
	return id
}

func (r *rec) storedLen() int {
	if r.decLen > 0 {
		return int(r.wireLen) + int(r.decLen)
	}
	return int(r.wireLen)
}

func (l *FrameLog) evictOldest() {
	r := &l.recs[l.head]
	size := int64(r.storedLen()) + recOverhead
	if r.extra {
		delete(l.extras, l.firstID)
	}
	if r.chunk == bigChunk {
		delete(l.big, l.firstID)
	}
	*r = rec{}
	l.head = (l.head + 1) % len(l.recs)
	l.n--
	l.arena.release(l.firstID)
	l.firstID++
	l.bytes -= size
	l.evicted++
	l.evictedBytes += size
}

// grow enlarges the ring (doubling, up to maxN), unrolling it so the
// oldest record lands at position 0.
func (l *FrameLog) grow() {
	size := len(l.recs) * 2
	if size < 1024 {
		size = 1024
	}
	if size > l.maxN {
		size = l.maxN
	}
	nr := make([]rec, size)
	for i := 0; i < l.n; i++ {
		nr[i] = l.recs[(l.head+i)%len(l.recs)]
	}
	l.recs, l.head = nr, 0
}

// at returns the record with the given held ID; the caller checks range.
func (l *FrameLog) at(id uint64) *rec {
	return &l.recs[(l.head+int(id-l.firstID))%len(l.recs)]
}

func (l *FrameLog) lastIDLocked() uint64 { return l.firstID + uint64(l.n) - 1 }

// payload returns the stored bytes of the record with the given ID.
func (l *FrameLog) payload(id uint64, r *rec) []byte {
	n := r.storedLen()
	switch {
	case n == 0:
		return nil
	case r.chunk == bigChunk:
		return l.big[id]
	}
	return l.arena.bytes(r.chunk, r.off, n)
}

// text returns the bytes text filters search: decoded, else wire.
func (l *FrameLog) text(id uint64, r *rec) []byte {
	p := l.payload(id, r)
	if r.decLen > 0 {
		return p[r.wireLen:]
	}
	return p
}

func (l *FrameLog) entry(id uint64) Entry {
	r := l.at(id)
	f := client.Frame{
		Seq:            r.seq,
		Time:           fromUnixNano(r.unixNano),
		Direction:      client.Direction(r.dir),
		Opcode:         client.Opcode(r.op),
		Encoding:       client.Encoding(r.enc),
		Type:           l.types.name(uint32(r.typ)),
		SubscriptionID: l.subs.name(r.sub),
		WireSize:       int(r.wireSize),
		DecodedSize:    int(r.decodedSize),
		ConnID:         uint64(r.connID),
	}
	p := l.payload(id, r)
	w := p[:r.wireLen:r.wireLen]
	f.Wire = w
	switch {
	case r.decLen == decSame:
		f.Decoded = w
	case r.decLen >= 0:
		f.Decoded = p[r.wireLen:]
	}
	if r.extra {
		if x := l.extras[id]; x != nil {
			f.CloseCode, f.CloseReason, f.Status, f.Duration, f.Err = x.closeCode, x.closeReason, x.status, x.duration, x.err
			f.Composed = x.composed
		}
	}
	return Entry{ID: id, Frame: f}
}

// Get returns the frame with the given ID, if it is still held.
func (l *FrameLog) Get(id uint64) (Entry, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == 0 || id < l.firstID || id > l.lastIDLocked() {
		return Entry{}, false
	}
	return l.entry(id), true
}

// Stats returns counters and caps.
func (l *FrameLog) Stats() LogStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := LogStats{Len: l.n, Bytes: l.bytes, Appended: l.appended, Evicted: l.evicted,
		EvictedBytes: l.evictedBytes, MaxFrames: l.maxN, MaxBytes: l.maxBytes, LastID: l.appended}
	if l.n > 0 {
		s.FirstID = l.firstID
	}
	return s
}

// Clear drops every frame (counted as evicted) and every cached index. IDs
// keep increasing afterwards.
func (l *FrameLog) Clear() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.n > 0 {
		l.evictOldest()
	}
	clear(l.idx)
}

// zeroTime stands for the zero time.Time, which UnixNano cannot represent.
const zeroTime = math.MinInt64

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return zeroTime
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == zeroTime {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// intern maps strings to small integers so records stay compact.
type intern struct {
	ids   map[string]uint32
	names []string
}

func (t *intern) id(s string) uint32 {
	if t.ids == nil {
		t.ids = map[string]uint32{"": 0}
		t.names = []string{""}
	}
	if id, ok := t.ids[s]; ok {
		return id
	}
	id := uint32(len(t.names))
	t.ids[s] = id
	t.names = append(t.names, s)
	return id
}

func (t *intern) name(id uint32) string {
	if int(id) < len(t.names) {
		return t.names[id]
	}
	return ""
}
