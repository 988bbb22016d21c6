package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/coder/websocket"
	kgzip "github.com/klauspost/compress/gzip"

	"github.com/kalamdash/kalamdash/client"
)

// Bare is the limit the client is measured against: a coder/websocket
// connection that authenticates, subscribes, and then only reads frames,
// each into one reused buffer, without decoding, tapping or storing them.
// Nothing that reads the stream through coder/websocket can do less.
//
// With Inflate set it also gunzips each gzip frame (klauspost, one reused
// reader, output discarded): the least any reader of a compressed stream
// must do to see its messages, for telling the client's own cost from the
// cost of compression.
type Bare struct {
	Inflate bool

	ws  *websocket.Conn
	buf []byte
	zr  *kgzip.Reader
}

// DialBare opens a bare reader on src's stream, subscribed to SQL with no
// initial data. compress=false in the URL selects text-only frames, as the
// client's WithDisableCompression does.
func DialBare(ctx context.Context, src *Source, compress bool) (*Bare, error) {
	tok, err := src.Token()
	if err != nil {
		return nil, err
	}
	return dialBare(ctx, src.Srv.WSURL(), tok, compress, false, SQL)
}

// dialBare authenticates with tok on the upgrade and subscribes to sql
// without initial data, as the client does; msgpack asks for MessagePack
// frames (serialization=msgpack, which header auth allows on the upgrade).
func dialBare(ctx context.Context, wsURL, tok string, compress, msgpack bool, sql string) (*Bare, error) {
	var query []string
	if !compress {
		query = append(query, "compress=false")
	}
	if msgpack {
		query = append(query, "serialization=msgpack")
	}
	if len(query) > 0 {
		wsURL += "?" + strings.Join(query, "&")
	}
	ws, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}})
	if err != nil {
		return nil, fmt.Errorf("bare dial: %w", err)
	}
	ws.SetReadLimit(16 << 20)
	b := &Bare{ws: ws}
	if err := b.expect(ctx, client.TypeAuthSuccess); err != nil {
		b.Close()
		return nil, err
	}
	sub, _ := json.Marshal(client.SubscribeMessage{Type: client.TypeSubscribe,
		Subscription: client.SubscriptionRequest{ID: "bare", SQL: sql}})
	if err := ws.Write(ctx, websocket.MessageText, sub); err != nil {
		b.Close()
		return nil, fmt.Errorf("bare subscribe: %w", err)
	}
	if err := b.expect(ctx, client.TypeSubscriptionAck); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// expect reads one frame and checks its type (by its name in the frame:
// JSON or MessagePack, the name is there as is).
func (b *Bare) expect(ctx context.Context, typ string) error {
	_, data, err := b.ws.Read(ctx)
	if err != nil {
		return fmt.Errorf("bare: waiting for %s: %w", typ, err)
	}
	if !strings.Contains(string(data), typ) {
		return fmt.Errorf("bare: wanted %s, got %.200s", typ, data)
	}
	return nil
}

// ReadN reads n frames and returns the wire bytes they carried.
func (b *Bare) ReadN(ctx context.Context, n int) (int64, error) {
	var total int64
	for i := 0; i < n; i++ {
		typ, msg, err := b.read(ctx)
		if err == nil && b.Inflate && typ == websocket.MessageBinary {
			err = b.inflate(msg)
		}
		if err != nil {
			return total, fmt.Errorf("bare: frame %d of %d: %w", i+1, n, err)
		}
		total += int64(len(msg))
	}
	return total, nil
}

// read reads one message into the reused buffer.
func (b *Bare) read(ctx context.Context) (websocket.MessageType, []byte, error) {
	typ, r, err := b.ws.Reader(ctx)
	if err != nil {
		return 0, nil, err
	}
	if b.buf == nil {
		b.buf = make([]byte, 0, 32<<10)
	}
	buf := b.buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		m, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			b.buf = buf
			return typ, buf, nil
		}
		if err != nil {
			return 0, nil, err
		}
	}
}

// inflate gunzips msg into io.Discard if it is gzip (a MessagePack frame
// is binary whether compressed or not).
func (b *Bare) inflate(msg []byte) error {
	if len(msg) < 2 || msg[0] != 0x1f || msg[1] != 0x8b {
		return nil
	}
	var err error
	if b.zr == nil {
		b.zr, err = kgzip.NewReader(bytes.NewReader(msg))
	} else {
		err = b.zr.Reset(bytes.NewReader(msg))
	}
	if err == nil {
		b.zr.Multistream(false)
		_, err = io.Copy(io.Discard, b.zr)
	}
	return err
}

// Close closes the socket without the close handshake.
func (b *Bare) Close() error { return b.ws.CloseNow() }
