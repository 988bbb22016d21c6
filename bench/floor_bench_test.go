package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/coder/websocket"
	kgzip "github.com/klauspost/compress/gzip"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/session"
)

// BenchmarkFirehoseFloor measures, for each lane of BenchmarkFirehose,
// the work per event the dashboard cannot leave out on top of what the
// bare reader (bare+inflate for gzip frames) already does: turning a
// MessagePack frame into the JSON text the inspector shows, parsing the
// frame into its message and row (the live table keeps the row), and
// storing the frame in a full frame log (the inspector lists it). The
// frames are real: read from a firehose source as BenchmarkFirehose's
// lanes read them. Nothing else is counted — not the read, the inflating,
// the tap, the goroutines or the live table — so this is a floor: the
// pipeline's CPU per event is at least the bare reader's plus this. When
// floor-ratio (floor-µs/event over the bare reader's CPU per event,
// measured here too) is above 0.25, the 1.25× target cannot be met by
// this design.
func BenchmarkFirehoseFloor(b *testing.B) {
	for _, fc := range firehoseCases {
		for _, compress := range []bool{true, false} {
			for _, msgpack := range []bool{false, true} {
				b.Run(fmt.Sprintf("%s/%s/%s", fc.name, modeName(compress), serName(msgpack)), func(b *testing.B) {
					benchFloor(b, fc.rowBytes, compress, msgpack)
				})
			}
		}
	}
}

// floorFrame is one captured frame: as on the wire, its payload once
// inflated (what the decoder converts or parses), and its opcode.
type floorFrame struct {
	wire, payload []byte
	op            client.Opcode
	enc           client.Encoding
}

func benchFloor(b *testing.B, rowBytes int, compress, msgpack bool) {
	ctx, cancel := context.WithTimeout(b.Context(), 2*time.Minute)
	defer cancel()
	n, logFrames := 256, 0 // the dashboard's log
	if smoke {
		n, logFrames = 32, 1000
	}
	frames, bareCPU, err := captureFrames(ctx, rowBytes, compress, msgpack, n)
	if err != nil {
		b.Fatal(err)
	}
	// The log full, so that every append evicts: the dashboard's steady
	// state under a firehose.
	log := session.NewFrameLog(logFrames, 0)
	var p client.MessageParser
	event := func(f *floorFrame) {
		text := f.payload
		if msgpack && (len(text) == 0 || text[0] != '{') {
			if text, err = client.MsgpackToJSON(f.payload); err != nil {
				b.Fatal(err)
			}
		}
		m, err := p.Parse(text)
		if err != nil {
			b.Fatal(err)
		}
		if len(m.Rows) != 1 {
			b.Fatalf("a %s frame with %d rows, want a change with one", m.Type, len(m.Rows))
		}
		log.Append(client.Frame{Direction: client.Inbound, Opcode: f.op, Encoding: f.enc, Type: m.Type,
			SubscriptionID: m.SubscriptionID, Wire: f.wire, WireSize: len(f.wire), Decoded: text, DecodedSize: len(text),
			Time: time.Now(), ConnID: 1})
	}
	for i := 0; log.Stats().Evicted == 0; i++ {
		event(&frames[i%len(frames)])
	}
	b.ResetTimer()
	c0 := cpuTime()
	for i := range b.N {
		event(&frames[i%len(frames)])
	}
	cpu := cpuTime() - c0
	b.StopTimer()
	floor := float64(cpu.Nanoseconds()) / 1e3 / float64(b.N)
	b.ReportMetric(floor, "floor-µs/event")
	b.ReportMetric(bareCPU, "bare-cpu-µs/event")
	b.ReportMetric(floor/bareCPU, "floor-ratio")
}

// captureFrames reads n change frames of a firehose lane with the bare
// reader (the one that inflates, for compressed rows) and returns copies,
// with the reader's CPU per event over a burst of 20 n events read
// meanwhile, as the limit the floor is compared with.
func captureFrames(ctx context.Context, rowBytes int, compress, msgpack bool, n int) ([]floorFrame, float64, error) {
	src, err := StartFirehose(ctx, 0, rowBytes)
	if err != nil {
		return nil, 0, err
	}
	defer src.Close()
	bare, err := DialFirehoseBare(ctx, src, compress, msgpack)
	if err != nil {
		return nil, 0, err
	}
	defer bare.Close()
	bare.Inflate = compress
	if _, err := bare.ReadN(ctx, 20*n); err != nil { // warm the connection
		return nil, 0, err
	}
	c0 := cpuTime()
	if _, err := bare.ReadN(ctx, 20*n); err != nil {
		return nil, 0, err
	}
	bareCPU := float64((cpuTime() - c0).Nanoseconds()) / 1e3 / float64(20*n)
	var zr *kgzip.Reader
	frames := make([]floorFrame, 0, n)
	for len(frames) < n {
		typ, msg, err := bare.read(ctx)
		if err != nil {
			return nil, 0, err
		}
		f := floorFrame{wire: bytes.Clone(msg), op: client.OpText, enc: client.EncJSON}
		f.payload = f.wire
		if typ == websocket.MessageBinary {
			f.op, f.enc = client.OpBinary, client.EncMsgpack
			if len(msg) >= 2 && msg[0] == 0x1f && msg[1] == 0x8b {
				if zr == nil {
					zr, err = kgzip.NewReader(bytes.NewReader(msg))
				} else {
					err = zr.Reset(bytes.NewReader(msg))
				}
				if err == nil {
					f.payload, err = io.ReadAll(zr)
				}
				if err != nil {
					return nil, 0, err
				}
				f.enc = client.EncGzipJSON
				if msgpack {
					f.enc = client.EncGzipMsgpack
				}
			}
		}
		frames = append(frames, f)
	}
	return frames, bareCPU, nil
}
