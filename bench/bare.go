package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/coder/websocket"

	"github.com/kalamdash/kalamdash/client"
)

// Bare is the limit the client is measured against: a coder/websocket
// connection that authenticates, subscribes, and then only reads frames,
// each into one reused buffer, without inflating, decoding, tapping or
// storing them. Nothing that reads the stream through coder/websocket can
// do less.
type Bare struct {
	ws  *websocket.Conn
	buf []byte
}

// DialBare opens a bare reader on src's stream, subscribed to SQL with no
// initial data. compress=false in the URL selects text-only frames, as the
// client's WithDisableCompression does.
func DialBare(ctx context.Context, src *Source, compress bool) (*Bare, error) {
	tok, err := src.Token()
	if err != nil {
		return nil, err
	}
	return dialBare(ctx, src.Srv.WSURL(), tok, compress)
}

// dialBare authenticates with tok on the upgrade and subscribes to SQL
// without initial data, as the client does.
func dialBare(ctx context.Context, wsURL, tok string, compress bool) (*Bare, error) {
	if !compress {
		wsURL += "?compress=false"
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
		Subscription: client.SubscriptionRequest{ID: "bare", SQL: SQL}})
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

// expect reads one text frame and checks its type.
func (b *Bare) expect(ctx context.Context, typ string) error {
	_, data, err := b.ws.Read(ctx)
	if err != nil {
		return fmt.Errorf("bare: waiting for %s: %w", typ, err)
	}
	if !strings.Contains(string(data), `"`+typ+`"`) {
		return fmt.Errorf("bare: wanted %s, got %.200s", typ, data)
	}
	return nil
}

// ReadN reads n frames and returns the wire bytes they carried.
func (b *Bare) ReadN(ctx context.Context, n int) (int64, error) {
	var total int64
	if b.buf == nil {
		b.buf = make([]byte, 32<<10)
	}
	for i := 0; i < n; i++ {
		_, r, err := b.ws.Reader(ctx)
		if err == nil {
			var m int
			for err == nil {
				m, err = r.Read(b.buf)
				total += int64(m)
			}
			if err == io.EOF {
				err = nil
			}
		}
		if err != nil {
			return total, fmt.Errorf("bare: frame %d of %d: %w", i+1, n, err)
		}
	}
	return total, nil
}

// Close closes the socket without the close handshake.
func (b *Bare) Close() error { return b.ws.CloseNow() }
