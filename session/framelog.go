package session

import (
	"bytes"
	"math"
	"sync"
	"time"
)

// Default FrameLog caps.
const (
	DefaultMaxFrames = 200_000
	DefaultMaxBytes  = 128 << 20
)

// recOverhead is what one record costs besides its payload, for the byte
// cap (the size of rec on 64-bit, rounded up).
const recOverhead = 80

// FrameLog is a bounded, filterable store of tapped frames. It keeps at
// most MaxFrames frames and MaxBytes bytes (payloads plus a fixed per-frame
// overhead), evicting the oldest first and counting evictions. Filtered
// views are served from per-filter index slices that are created on first
// use and then extended incrementally, so Len and Page cost O(n) in the page
// size and O(new frames) in catching up, whatever the log's size.
//
// A FrameLog is safe for concurrent use. Payload slices handed out by Page
// and Get are shared and must not be modified.
type FrameLog struct {
	mu       sync.Mutex
	maxN     int
	maxBytes int64

	recs    []rec // ring; len(recs) grows up to maxN
	head    int   // position of the oldest record
	n       int   // records held
	firstID uint64
	bytes   int64

	evicted      uint64
	evictedBytes int64
	appended     uint64

	types intern
	subs  intern

	idx  map[string]*index
	tick uint64
}

// rec is the compact stored form of a Frame (≈80 bytes + payload).
type rec struct {
	unixNano    int64
	seq         uint64
	payload     []byte // wire bytes, then decoded bytes unless same
	wireLen     int32
	wireSize    int32
	decodedSize int32
	sub         uint32
	connID      uint32
	typ         uint16
	dir         uint8
	op          uint8
	enc         uint8
	same        bool // decoded == wire; payload holds it once
	extra       *recExtra
}

// recExtra holds rarely set fields, kept out of line to save memory.
type recExtra struct {
	closeCode   int
	closeReason string
	status      int
	duration    time.Duration
	err         string
	decodedNil  bool
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
	return &FrameLog{maxN: maxFrames, maxBytes: maxBytes, firstID: 1, idx: map[string]*index{}}
}

// Append stores frames, evicting the oldest as the caps require, and
// returns the ID of the last one stored (0 if frames is empty). The log
// copies nothing but the payload bytes it keeps referenced: callers must
// not modify Wire/Decoded afterwards (the client tap hands out copies).
func (l *FrameLog) Append(frames ...Frame) (lastID uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range frames {
		lastID = l.appendLocked(&frames[i])
	}
	return lastID
}

func (l *FrameLog) appendLocked(f *Frame) uint64 {
	r := rec{
		unixNano:    unixNano(f.Time),
		seq:         f.Seq,
		wireSize:    int32(f.WireSize),
		decodedSize: int32(f.DecodedSize),
		sub:         l.subs.id(f.SubscriptionID),
		connID:      uint32(f.ConnID),
		typ:         uint16(l.types.id(f.Type)),
		dir:         uint8(f.Direction),
		op:          uint8(f.Opcode),
		enc:         uint8(f.Encoding),
	}
	switch {
	case f.Decoded == nil:
		r.payload, r.wireLen = f.Wire, int32(len(f.Wire))
		if f.Wire != nil {
			r.extraPtr().decodedNil = true
		}
	case bytes.Equal(f.Wire, f.Decoded):
		r.payload, r.wireLen, r.same = f.Decoded, int32(len(f.Decoded)), true
	default:
		p := make([]byte, 0, len(f.Wire)+len(f.Decoded))
		p = append(append(p, f.Wire...), f.Decoded...)
		r.payload, r.wireLen = p, int32(len(f.Wire))
	}
	if f.CloseCode != 0 || f.CloseReason != "" || f.Status != 0 || f.Duration != 0 || f.Err != "" {
		x := r.extraPtr()
		x.closeCode, x.closeReason, x.status, x.duration, x.err = f.CloseCode, f.CloseReason, f.Status, f.Duration, f.Err
	}
	size := int64(len(r.payload)) + recOverhead
	for l.n > 0 && (l.n >= l.maxN || l.bytes+size > l.maxBytes) {
		l.evictOldest()
	}
	if l.n == len(l.recs) {
		l.grow()
	}
	l.recs[(l.head+l.n)%len(l.recs)] = r
	l.n++
	l.bytes += size
	l.appended++
	return l.firstID + uint64(l.n) - 1
}

func (r *rec) extraPtr() *recExtra {
	if r.extra == nil {
		r.extra = &recExtra{}
	}
	return r.extra
}

func (l *FrameLog) evictOldest() {
	r := &l.recs[l.head]
	size := int64(len(r.payload)) + recOverhead
	*r = rec{} // release the payload
	l.head = (l.head + 1) % len(l.recs)
	l.n--
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

func (l *FrameLog) entry(id uint64) Entry {
	r := l.at(id)
	f := Frame{
		Seq:            r.seq,
		Time:           fromUnixNano(r.unixNano),
		Direction:      Direction(r.dir),
		Opcode:         Opcode(r.op),
		Encoding:       Encoding(r.enc),
		Type:           l.types.name(uint32(r.typ)),
		SubscriptionID: l.subs.name(r.sub),
		WireSize:       int(r.wireSize),
		DecodedSize:    int(r.decodedSize),
		ConnID:         uint64(r.connID),
	}
	switch {
	case r.same:
		f.Wire, f.Decoded = r.payload, r.payload
	case r.extra != nil && r.extra.decodedNil:
		f.Wire = r.payload
	default:
		f.Wire = r.payload[:r.wireLen:r.wireLen]
		if len(r.payload) > int(r.wireLen) {
			f.Decoded = r.payload[r.wireLen:]
		}
	}
	if x := r.extra; x != nil {
		f.CloseCode, f.CloseReason, f.Status, f.Duration, f.Err = x.closeCode, x.closeReason, x.status, x.duration, x.err
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

func (t *intern) lookup(s string) (uint32, bool) {
	id, ok := t.ids[s]
	return id, ok
}
