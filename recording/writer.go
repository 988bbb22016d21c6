package recording

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// WriterOption configures a Writer.
type WriterOption func(*writerOptions)

type writerOptions struct {
	reveal  bool
	secrets []string
}

// WithReveal writes secrets in clear (kalamdash record --reveal-secrets).
// The header then says so in SecretsRevealed. Frames tapped without
// WithRevealSecrets stay redacted either way.
func WithReveal(reveal bool) WriterOption {
	return func(o *writerOptions) { o.reveal = reveal }
}

// WithSecrets gives the Writer literal secrets (the password, the token
// passed on the command line) to replace with redact.Marker wherever
// they appear, as a second line of defence behind the tap's key-based
// redaction. Secrets shorter than MinSecretLen are ignored.
func WithSecrets(secrets ...string) WriterOption {
	return func(o *writerOptions) { o.secrets = append(o.secrets, secrets...) }
}

// ErrWriterClosed is returned by writes after Close.
var ErrWriterClosed = errors.New("recording: writer is closed")

// Writer streams a recording as JSON Lines. It buffers: call Flush to push
// lines out (kalamdash record flushes a few times a second) and Close to
// write the trailer. It is safe for concurrent use. After a write error
// every later call returns that error.
type Writer struct {
	mu  sync.Mutex
	bw  *bufio.Writer
	enc *json.Encoder
	red redactor
	// Counters are atomic so that Counts (a progress line polling it)
	// never waits behind a write to a slow file or pipe, which holds mu.
	frames atomic.Uint64
	events atomic.Uint64
	wire   atomic.Uint64
	err    error
	closed bool
}

// NewWriter writes h (with Version set, secrets removed and StartedAt
// defaulted to now) as line 1 and returns a Writer for the rest.
func NewWriter(w io.Writer, h Header, opts ...WriterOption) (*Writer, error) {
	var o writerOptions
	for _, opt := range opts {
		opt(&o)
	}
	wr := &Writer{bw: bufio.NewWriterSize(w, 64<<10), red: newRedactor(o.reveal, o.secrets)}
	wr.enc = json.NewEncoder(wr.bw)
	// Payloads are stored as they were: no <>& escaping, so embedded JSON
	// round-trips byte for byte.
	wr.enc.SetEscapeHTML(false)
	h.Version = Version
	h.SecretsRevealed = o.reveal
	if h.StartedAt.IsZero() {
		h.StartedAt = time.Now()
	}
	h.StartedAt = h.StartedAt.UTC()
	h = wr.red.header(h)
	if err := wr.encode(h); err != nil {
		return nil, err
	}
	return wr, nil
}

// encode writes one line; the caller holds mu or owns the Writer.
func (w *Writer) encode(v any) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return ErrWriterClosed
	}
	if err := w.enc.Encode(v); err != nil {
		w.err = fmt.Errorf("recording: write: %w", err)
		return w.err
	}
	return nil
}

// WriteFrame appends one frame.
func (w *Writer) WriteFrame(f client.Frame) error {
	f = w.red.frame(f)
	l := toLine(f)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.encode(&l); err != nil {
		return err
	}
	w.frames.Add(1)
	w.wire.Add(uint64(f.WireSize))
	return nil
}

// WriteEvent appends one lifecycle event.
func (w *Writer) WriteEvent(e Event) error {
	e = w.red.event(e)
	e.Time = e.Time.UTC()
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.encode(eventLine{Kind: KindEvent, Event: e}); err != nil {
		return err
	}
	w.events.Add(1)
	return nil
}

// Flush writes buffered lines to the underlying writer.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushLocked()
}

func (w *Writer) flushLocked() error {
	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("recording: write: %w", err)
	}
	return w.err
}

// Counts returns how many frames and events were written and the sum of
// the frames' wire sizes.
func (w *Writer) Counts() (frames, events, wireBytes uint64) {
	return w.frames.Load(), w.events.Load(), w.wire.Load()
}

// Close writes the trailer (its counters filled in from what was written;
// Time defaults to now) and flushes. It does not close the underlying
// writer. Closing twice returns ErrWriterClosed.
func (w *Writer) Close(end End) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if end.Time.IsZero() {
		end.Time = time.Now()
	}
	end.Time = end.Time.UTC()
	end.Frames, end.Events, end.WireBytes = w.frames.Load(), w.events.Load(), w.wire.Load()
	end.Error = w.red.string(end.Error)
	err := w.encode(endLine{Kind: KindEnd, End: end})
	if err == nil {
		err = w.flushLocked()
	}
	w.closed = true
	return err
}

// CreateFile creates (or truncates) path for a recording or export,
// readable by its owner only (0600): recordings hold session data and,
// with --reveal-secrets, credentials. An existing file keeps its name but
// is narrowed to 0600 too.
func CreateFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("restrict %s to 0600: %w", path, err)
	}
	return f, nil
}
