package bench

import (
	"bytes"
	stdgzip "compress/gzip"
	"encoding/json"
	"io"
	"strconv"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/kalamtest"
)

// decodeFrame is one KalamDB-shaped server message in its three wire forms.
type decodeFrame struct {
	name    string
	json    []byte // plain JSON text
	gz      []byte // gzip (fast level, as the server) of json
	msgpack []byte // MessagePack of the same message
}

// decodeFrames builds the shapes the dashboard sees most: one change
// carrying a 2 KB row, and initial-data batches of 100 small rows and of
// 50 rows of 2 KB.
func decodeFrames(tb testing.TB) []decodeFrame {
	tb.Helper()
	rows := func(n int, bodyBytes int) []client.Row {
		out := make([]client.Row, n)
		for i := range out {
			out[i] = client.Row{"id": strconv.Itoa(i), "name": "rps", "value": 44.9, "updated_at": int64(1795868612510000 + i),
				"body": kalamtest.RowText(bodyBytes, uint32(i)), "_seq": strconv.FormatInt(385043031729+int64(i), 10)}
		}
		return out
	}
	last := int64(385043031829)
	msgs := []struct {
		name string
		v    any
	}{
		{"change-1x2KB", client.ChangeMessage{Type: client.TypeChange, SubscriptionID: "metrics", ChangeType: client.ChangeInsert, Rows: rows(1, 2048)}},
		{"batch-100x16B", client.InitialDataBatchMessage{Type: client.TypeInitialDataBatch, SubscriptionID: "metrics",
			Rows: rows(100, 16), BatchControl: client.BatchControl{BatchNum: 1, HasMore: true, Status: client.StatusLoadingBatch, LastSeqID: &last}}},
		{"batch-50x2KB", client.InitialDataBatchMessage{Type: client.TypeInitialDataBatch, SubscriptionID: "metrics",
			Rows: rows(50, 2048), BatchControl: client.BatchControl{BatchNum: 1, HasMore: true, Status: client.StatusLoadingBatch, LastSeqID: &last}}},
	}
	out := make([]decodeFrame, 0, len(msgs))
	for _, m := range msgs {
		j, err := json.Marshal(m.v)
		if err != nil {
			tb.Fatal(err)
		}
		var zb bytes.Buffer
		zw, _ := stdgzip.NewWriterLevel(&zb, stdgzip.BestSpeed)
		zw.Write(j)
		zw.Close()
		var mb bytes.Buffer
		enc := msgpack.NewEncoder(&mb)
		enc.SetCustomStructTag("json")
		if err := enc.Encode(m.v); err != nil {
			tb.Fatal(err)
		}
		out = append(out, decodeFrame{name: m.name, json: j, gz: zb.Bytes(), msgpack: mb.Bytes()})
	}
	return out
}

// gunzipper is what a socket's decoder keeps: one reader, Reset per frame.
type gunzipper interface {
	Reset(r io.Reader) error
	Multistream(bool)
	io.Reader
}

// inflate decodes one gzip frame the way client/decode.go does: the
// output allocated once at the trailer's size.
func inflate(zr gunzipper, data []byte, out []byte) ([]byte, error) {
	size := int(uint32(data[len(data)-4]) | uint32(data[len(data)-3])<<8 | uint32(data[len(data)-2])<<16 | uint32(data[len(data)-1])<<24)
	if cap(out) < size {
		out = make([]byte, size)
	}
	out = out[:size]
	if err := zr.Reset(bytes.NewReader(data)); err != nil {
		return nil, err
	}
	zr.Multistream(false)
	if _, err := io.ReadFull(zr, out); err != nil {
		return nil, err
	}
	return out, nil
}

// BenchmarkDecode compares gzip readers (stdlib vs klauspost, each reused
// across frames as the client's decoder does) and the msgpack → JSON
// conversion, and, for scale, parsing the JSON into a ServerMessage (which
// every frame pays whatever its encoding). MB/s is of the decoded JSON.
func BenchmarkDecode(b *testing.B) {
	for _, f := range decodeFrames(b) {
		b.Run(f.name+"/gzip-stdlib", func(b *testing.B) {
			zr, err := stdgzip.NewReader(bytes.NewReader(f.gz))
			if err != nil {
				b.Fatal(err)
			}
			benchInflate(b, zr, f)
		})
		b.Run(f.name+"/gzip-klauspost", func(b *testing.B) {
			zr, err := kgzip.NewReader(bytes.NewReader(f.gz))
			if err != nil {
				b.Fatal(err)
			}
			benchInflate(b, zr, f)
		})
		b.Run(f.name+"/msgpack-to-json", func(b *testing.B) {
			b.SetBytes(int64(len(f.json)))
			b.ReportAllocs()
			for range b.N {
				if _, err := client.MsgpackToJSON(f.msgpack); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(f.name+"/json-parse", func(b *testing.B) {
			b.SetBytes(int64(len(f.json)))
			b.ReportAllocs()
			for range b.N {
				// encoding/json as the client used it before its scanner
				// (and still does for rare messages): a Decoder for
				// UseNumber, which first copies the frame into its buffer.
				var m client.ServerMessage
				dec := json.NewDecoder(bytes.NewReader(f.json))
				dec.UseNumber()
				if err := dec.Decode(&m); err != nil || m.Type == "" {
					b.Fatal("parse", err)
				}
			}
		})
		b.Run(f.name+"/json-scan", func(b *testing.B) {
			b.SetBytes(int64(len(f.json)))
			b.ReportAllocs()
			var p client.MessageParser
			for range b.N {
				// What the client's read loop does now: one pass of its
				// row scanner (client/rowscan.go), same result, column
				// names interned across frames.
				if m, err := p.Parse(f.json); err != nil || m.Type == "" {
					b.Fatal("parse", err)
				}
			}
		})
	}
}

func benchInflate(b *testing.B, zr gunzipper, f decodeFrame) {
	b.SetBytes(int64(len(f.json)))
	b.ReportAllocs()
	b.ReportMetric(float64(len(f.json))/float64(len(f.gz)), "ratio")
	// A fresh output per frame, as the client (the tap keeps it).
	for range b.N {
		out, err := inflate(zr, f.gz, nil)
		if err != nil {
			b.Fatal(err)
		}
		if len(out) != len(f.json) {
			b.Fatal("short inflate")
		}
	}
}
