package kalamtest

import (
	"sync/atomic"

	"github.com/coder/websocket"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/kalamtest/internal/sqlengine"
)

// encodedFrame is one server → client frame, serialized (and compressed)
// once and written as is to every socket of its group.
type encodedFrame struct {
	typ websocket.MessageType
	b   []byte
}

// frameKey groups the subscriptions that receive byte-identical frames
// for a change: the same subscription id and query (so the same
// projection and filter), the same user (a filter may read it), and the
// same serialization and compression.
type frameKey struct {
	subID, sql, user  string
	msgpack, compress bool
}

// fanout delivers one change: it encodes the change once per frameKey
// group, however many sockets are in the group, where each socket's
// writer used to encode it again. Not safe for concurrent use: one
// fanout per change, on the goroutine that delivers it.
type fanout struct {
	ch     sqlengine.Change
	frames map[frameKey]*encodedFrame // nil: the change is not visible to that group
	// encodes counts the serializations done, for Server.Encodes.
	encodes *atomic.Uint64
	// seqs renumbers the rows' _seq as the delivering node numbered
	// them (nil: the engine's numbers, standalone).
	seqs *nodeSeqs
}

// frame returns the group's encoded frame for the change, encoding it on
// first use; nil when the subscription does not see the change.
func (f *fanout) frame(k frameKey, sub *subscription) *encodedFrame {
	if fr, ok := f.frames[k]; ok {
		return fr
	}
	if f.frames == nil {
		f.frames = map[frameKey]*encodedFrame{}
	}
	var fr *encodedFrame
	if ct, rows, old, ok := sub.q.Notification(f.ch); ok {
		f.seqs.renumber(rows)
		f.seqs.renumber(old)
		msg := client.ChangeMessage{Type: client.TypeChange, SubscriptionID: sub.id, ChangeType: ct,
			Rows: serdeFloatRows(rows), OldValues: serdeFloatRows(old)}
		// Encoding a ChangeMessage of plain rows does not fail; if it
		// ever did, the group gets nothing rather than a broken frame.
		if typ, b, err := encodeFrame(msg, k.msgpack, k.compress); err == nil {
			fr = &encodedFrame{typ: typ, b: b}
			f.encodes.Add(1)
		}
	}
	f.frames[k] = fr
	return fr
}

// subStats counts one subscription's change notifications: written to
// its socket, and dropped because the socket's queue was full — of
// those, droppedFull while the socket itself was full (its reader was
// behind). The firehose keeps its subscribers' stats after they end, for
// its report.
type subStats struct {
	conn                       uint64
	user, id                   string
	serialization              string
	compression                string
	sent, dropped, droppedFull atomic.Uint64
	ended                      atomic.Bool
}
