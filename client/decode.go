package client

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/coder/websocket"
	"github.com/vmihailenco/msgpack/v5"
)

// Decoding limits, as the official SDKs: 16 MiB per compressed frame (the
// socket's read limit), 64 MiB once inflated.
const (
	readLimit    = 16 << 20
	inflateLimit = 64 << 20
)

var errInflateLimit = fmt.Errorf("frame inflates beyond %d MiB", inflateLimit>>20)

// decoder turns server frames into JSON text. One per socket, used only by
// its read loop, so the gzip reader and buffer are reused without locks.
type decoder struct {
	msgpack bool // the socket negotiated MessagePack
	zr      *gzip.Reader
	buf     bytes.Buffer
}

// decode returns the frame's JSON text (a fresh slice) and its encoding.
func (d *decoder) decode(typ websocket.MessageType, data []byte) ([]byte, Encoding, error) {
	if typ == websocket.MessageText {
		return data, EncJSON, nil
	}
	gz := len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b
	if !d.msgpack {
		if !gz {
			return nil, EncGzipJSON, errors.New("binary frame on a JSON connection is not gzip")
		}
		out, err := d.gunzip(data)
		return out, EncGzipJSON, err
	}
	enc, payload := EncMsgpack, data
	if gz {
		enc = EncGzipMsgpack
		var err error
		if payload, err = d.gunzip(data); err != nil {
			return nil, enc, err
		}
	}
	out, err := msgpackToJSON(payload)
	return out, enc, err
}

func (d *decoder) gunzip(data []byte) ([]byte, error) {
	var err error
	if d.zr == nil {
		d.zr, err = gzip.NewReader(bytes.NewReader(data))
	} else {
		err = d.zr.Reset(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	d.buf.Reset()
	n, err := io.Copy(&d.buf, io.LimitReader(d.zr, inflateLimit+1))
	if err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	if n > inflateLimit {
		return nil, errInflateLimit
	}
	return bytes.Clone(d.buf.Bytes()), nil
}

// msgpackToJSON converts a MessagePack document to JSON text. Integers
// stay integers (never float64), so _seq and BIGINT survive intact.
func msgpackToJSON(b []byte) ([]byte, error) {
	dec := msgpack.NewDecoder(bytes.NewReader(b))
	dec.SetCustomStructTag("json")
	dec.UseLooseInterfaceDecoding(true)
	v, err := dec.DecodeInterface()
	if err != nil {
		return nil, fmt.Errorf("msgpack: %w", err)
	}
	out, err := json.Marshal(jsonable(v))
	if err != nil {
		return nil, fmt.Errorf("msgpack → json: %w", err)
	}
	return out, nil
}

// jsonable rewrites msgpack's map[any]any into map[string]any and byte
// strings into text, recursively.
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonable(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = jsonable(e)
		}
		return x
	case []byte:
		return string(x)
	}
	return v
}

// parseServerMessage decodes JSON text into the server message union.
func parseServerMessage(b []byte) (*ServerMessage, error) {
	var m ServerMessage
	if err := decodeJSON(b, &m); err != nil {
		return nil, fmt.Errorf("not a KalamDB message: %w", err)
	}
	if m.Type == "" {
		return nil, errors.New("message has no type")
	}
	return &m, nil
}
