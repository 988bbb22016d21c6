package app

import (
	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/recording"
	"github.com/kalamdash/kalamdash/session"
	"github.com/kalamdash/kalamdash/ui"
)

// FrameSource implements ui.FrameSource over a session.FrameLog: it pages
// the log for the inspector (through the log's filter indexes) and exports
// it through package recording, so `e` writes files `kalamdash replay`
// reads. The dashboard, the replay dashboard and the benchmarks all page
// frames through it.
type FrameSource struct {
	Log     *session.FrameLog
	URL     string            // the server, for an export's header
	Options recording.Options // how the connection was made, likewise
}

// ExportFrames implements ui.FrameExporter.
func (f FrameSource) ExportFrames(path, format string, flt ui.FrameFilter, reveal bool) (int, error) {
	sel := filterOf(flt)
	entries := f.Log.Page(sel, 0, f.Log.Len(sel))
	frames := make([]client.Frame, len(entries))
	for i, e := range entries {
		frames[i] = e.Frame
	}
	h := recording.Header{ToolVersion: Version, ServerURL: f.URL, SecretsRevealed: reveal, Options: f.Options}
	if len(frames) > 0 {
		h.StartedAt = frames[0].Time
	}
	if err := recording.Export(path, format, h, frames, recording.WithReveal(reveal)); err != nil {
		return 0, err
	}
	return len(frames), nil
}

// Len implements ui.FrameSource.
func (f FrameSource) Len(flt ui.FrameFilter) int { return f.Log.Len(filterOf(flt)) }

// Page implements ui.FrameSource.
func (f FrameSource) Page(flt ui.FrameFilter, offset, n int) []ui.Frame {
	entries := f.Log.Page(filterOf(flt), offset, n)
	out := make([]ui.Frame, len(entries))
	for i, e := range entries {
		out[i] = ui.Frame{
			ID: e.ID, Time: e.Time, Dir: e.Direction.String(), Opcode: e.Opcode.String(),
			Encoding: e.Encoding.String(), Type: e.Type, Sub: e.SubscriptionID,
			Wire: e.Wire, WireSize: e.WireSize, Decoded: e.Decoded, DecodedSize: e.DecodedSize,
			CloseCode: e.CloseCode, CloseReason: e.CloseReason, Status: e.Status, Duration: e.Duration,
			ConnID: e.ConnID, Err: e.Err, Composed: e.Composed,
		}
	}
	return out
}

// Frame classes of the t toggle, by opcode: control frames may carry no message type, so
// the opcode is the reliable test.
var (
	dataOpcodes    = []client.Opcode{client.OpText, client.OpBinary}
	controlOpcodes = []client.Opcode{client.OpPing, client.OpPong, client.OpClose}
	httpOpcodes    = []client.Opcode{client.OpHTTP}
)

func filterOf(f ui.FrameFilter) session.Filter {
	s := session.Filter{Text: f.Text, Regex: f.Regex, Subscription: f.Sub}
	switch f.Dir {
	case "in":
		s.Direction = client.Inbound
	case "out":
		s.Direction = client.Outbound
	}
	switch f.Class {
	case "data":
		s.Opcodes = dataOpcodes
	case "control":
		s.Opcodes = controlOpcodes
	case "http":
		s.Opcodes = httpOpcodes
	}
	return s
}
