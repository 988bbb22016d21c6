package client

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/coder/websocket"
	// klauspost's gzip is a drop-in for compress/gzip that inflates
	// 1.3–3.3× faster with fewer allocations per frame (bench/RESULTS.md).
	"github.com/klauspost/compress/gzip"
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
	parser  MessageParser
}

// decode returns the frame's JSON text (a fresh slice) and its encoding.
func (d *decoder) decode(typ websocket.MessageType, data []byte) ([]byte, Encoding, error) {
	if typ == websocket.MessageText {
		// A text frame must be UTF-8 (RFC 6455 §5.6); the official client's
		// WebSocket library refuses one that is not. encoding/json would
		// quietly turn the bad bytes into U+FFFD instead.
		if !utf8.Valid(data) {
			return nil, EncJSON, errors.New("text frame is not valid UTF-8")
		}
		return data, EncJSON, nil
	}
	gz := isGzip(typ, data)
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
		// KalamDB writes error frames as JSON on every socket and gzips
		// them at 512 bytes like anything else, so a gzip frame on a
		// MessagePack socket may hold JSON. Server messages are maps, which
		// MessagePack never starts with '{' (that byte is the integer 123).
		if len(payload) > 0 && payload[0] == '{' {
			return payload, EncGzipJSON, nil
		}
	}
	out, err := msgpackToJSON(payload)
	return out, enc, err
}

// gunzip inflates one gzip member. The trailer's ISIZE (the inflated
// length, checked by the gzip reader against the real output and CRC)
// lets it refuse a bomb before inflating anything and allocate the output
// once, at its exact size.
func (d *decoder) gunzip(data []byte) ([]byte, error) {
	if len(data) < 18 { // 10-byte header + 8-byte trailer
		return nil, errors.New("gunzip: frame too short to be gzip")
	}
	size := int64(binary.LittleEndian.Uint32(data[len(data)-4:]))
	if size > inflateLimit {
		return nil, fmt.Errorf("%w (declares %d MiB)", errInflateLimit, size>>20)
	}
	var err error
	if d.zr == nil {
		d.zr, err = gzip.NewReader(bytes.NewReader(data))
	} else {
		err = d.zr.Reset(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	d.zr.Multistream(false)
	out := make([]byte, size)
	if _, err := io.ReadFull(d.zr, out); err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	// The member must end here; reaching EOF also verifies CRC and size.
	var one [1]byte
	if n, err := d.zr.Read(one[:]); n > 0 || err != io.EOF {
		if err == nil || err == io.EOF {
			err = errors.New("more data than the trailer declares")
		}
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	return out, nil
}

// MsgpackToJSON converts one untrusted MessagePack document to JSON text,
// with the bounds checkMsgpack enforces (no huge declared containers, no
// deep nesting, string map keys only). Integers stay integers (never
// float64), so _seq and BIGINT survive intact. kalamtest decodes a
// msgpack client's frames with it too.
func MsgpackToJSON(b []byte) ([]byte, error) { return msgpackToJSON(b) }

func msgpackToJSON(b []byte) ([]byte, error) {
	if err := checkMsgpack(b); err != nil {
		return nil, err
	}
	// JSON text is about as long as the MessagePack it came from, plus
	// quotes and punctuation.
	if out, ok := appendMsgpackJSON(make([]byte, 0, len(b)+len(b)/8+64), b); ok {
		return out, nil
	}
	return msgpackToJSONSlow(b)
}

// msgpackToJSONSlow converts a checked document by decoding it into Go
// values and marshalling them: what appendMsgpackJSON must match, and what
// converts the documents it gives up on.
func msgpackToJSONSlow(b []byte) ([]byte, error) {
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

// MessageParser decodes server frames' JSON text (a decoded frame's
// Decoded bytes) as a socket's read loop does: row values keep KalamDB's
// encoding (numbers are json.Number, BIGINT and _seq strings), and each
// distinct row key (column name) is allocated once and shared between
// rows. The zero value is ready to use; a MessageParser must not be used
// by two goroutines at once.
type MessageParser struct {
	keys keyIntern
}

// Parse decodes one server frame's JSON text.
func (p *MessageParser) Parse(b []byte) (*ServerMessage, error) {
	return parseServerMessage(b, &p.keys)
}

// parseServerMessage decodes JSON text into the server message union:
// rows-carrying frames through the scanner (rowscan.go), everything else
// — and anything the scanner is unsure of — through encoding/json.
// keys, if not nil, interns row keys (a socket's decoder keeps one).
func parseServerMessage(b []byte, keys *keyIntern) (*ServerMessage, error) {
	m, ok := scanRowMessage(b, keys)
	if !ok {
		m = new(ServerMessage)
		if err := decodeJSONDocument(b, m); err != nil {
			return nil, fmt.Errorf("not a KalamDB message: %w", err)
		}
	}
	if m.Type == "" {
		return nil, errors.New("message has no type")
	}
	return m, nil
}

// decodeJSONDocument is decodeJSON for a whole frame: one JSON value and
// nothing after it but whitespace.
func decodeJSONDocument(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if rest := bytes.TrimLeft(b[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return fmt.Errorf("%d bytes of data after the message", len(rest))
	}
	return nil
}
