package kalamtest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/kalamdash/kalamdash/client"
)

func itoa(n int) string { return strconv.Itoa(n) }

var gzipPool = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return w
}}

// gzipBytes compresses b at the fast level, as upstream's flate2 Fast.
func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzipPool.Get().(*gzip.Writer)
	zw.Reset(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	gzipPool.Put(zw)
	return buf.Bytes()
}

// encodeFrame serializes a server message and applies section 4's rule:
// JSON is text unless it is ≥512 bytes and gzip makes it smaller, then it
// is a binary gzip frame. MessagePack is always binary, gzipped by the
// same rule.
func encodeFrame(v any, asMsgpack, compress bool) (websocket.MessageType, []byte, error) {
	var b []byte
	typ := websocket.MessageText
	if asMsgpack {
		var buf bytes.Buffer
		enc := msgpack.NewEncoder(&buf)
		enc.SetCustomStructTag("json")
		if err := enc.Encode(v); err != nil {
			return 0, nil, fmt.Errorf("kalamtest: msgpack encode: %w", err)
		}
		b, typ = buf.Bytes(), websocket.MessageBinary
	} else {
		var err error
		if b, err = json.Marshal(v); err != nil {
			return 0, nil, fmt.Errorf("kalamtest: json encode: %w", err)
		}
	}
	if compress && len(b) >= gzipThreshold {
		if z := gzipBytes(b); len(z) < len(b) {
			return websocket.MessageBinary, z, nil
		}
	}
	return typ, b, nil
}

// msgpackToJSON decodes a client MessagePack frame (optionally gzipped)
// into JSON text for the common parser.
func msgpackToJSON(b []byte) ([]byte, string) {
	if len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, "Failed to decompress binary msgpack"
		}
		plain, err := io.ReadAll(io.LimitReader(zr, 64<<20))
		if err != nil {
			return nil, "Failed to decompress binary msgpack"
		}
		b = plain
	}
	// The client's decoder bounds what a few hostile bytes can declare
	// (huge containers, deep nesting, maps as keys).
	js, err := client.MsgpackToJSON(b)
	if err != nil {
		return nil, "Invalid MessagePack: " + strings.TrimPrefix(err.Error(), "msgpack: ")
	}
	return js, ""
}

// writeRaw sends an arbitrary frame for the SendRaw fault control.
func writeRaw(ctx context.Context, c *websocket.Conn, op client.Opcode, payload []byte) error {
	switch op {
	case client.OpBinary:
		return c.Write(ctx, websocket.MessageBinary, payload)
	case client.OpPing:
		// Ping waits for the pong; never block the writer on it.
		go func() {
			pctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_ = c.Ping(pctx)
		}()
		return nil
	case client.OpClose:
		code, reason := websocket.StatusNormalClosure, ""
		if len(payload) >= 2 {
			code = websocket.StatusCode(binary.BigEndian.Uint16(payload))
			reason = string(payload[2:])
		}
		go func() { _ = c.Close(code, closeReason(reason)) }()
		return nil
	default:
		return c.Write(ctx, websocket.MessageText, payload)
	}
}
