package session

// chunkSize is the size of a payload chunk. Payloads larger than bigPayload
// are stored on their own (see FrameLog.big), so chunks never waste more
// than bigPayload bytes at their end.
const (
	chunkSize  = 1 << 20
	bigPayload = chunkSize / 8
)

// bigChunk marks a record whose payload is stored in FrameLog.big.
const bigChunk = ^uint32(0)

// arena stores small frame payloads in large append-only chunks that are
// freed whole, oldest first, once every frame in them has been evicted.
// Chunks are never reused, so slices handed out stay valid (and unchanged)
// for as long as a caller holds them.
type arena struct {
	chunks []arenaChunk // oldest first; lastID increases
	base   uint32       // chunk number of chunks[0]
}

type arenaChunk struct {
	buf    []byte // len = bytes used, cap = chunkSize
	lastID uint64 // ID of the newest frame stored in it
}

// alloc reserves n ≤ bigPayload bytes for frame id and returns where.
func (a *arena) alloc(n int, id uint64) (chunk, off uint32) {
	if k := len(a.chunks); k > 0 {
		c := &a.chunks[k-1]
		if len(c.buf)+n <= cap(c.buf) {
			off = uint32(len(c.buf))
			c.buf = c.buf[:len(c.buf)+n]
			c.lastID = id
			return a.base + uint32(k-1), off
		}
	}
	a.chunks = append(a.chunks, arenaChunk{buf: make([]byte, n, chunkSize), lastID: id})
	return a.base + uint32(len(a.chunks)-1), 0
}

// bytes returns the n bytes at (chunk, off).
func (a *arena) bytes(chunk, off uint32, n int) []byte {
	c := a.chunks[chunk-a.base].buf
	return c[off : int(off)+n : int(off)+n]
}

// release notes that every frame up to id was evicted and frees the chunks
// holding only such frames (the newest chunk stays, to be filled further).
func (a *arena) release(id uint64) {
	i := 0
	for i < len(a.chunks)-1 && a.chunks[i].lastID <= id {
		i++
	}
	if i == 0 {
		return
	}
	clear(a.chunks[:i])
	a.chunks = a.chunks[i:]
	a.base += uint32(i)
}
