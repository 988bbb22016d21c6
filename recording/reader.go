package recording

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/kalamdash/kalamdash/client"
)

// LineError is a problem with one line of a recording file.
type LineError struct {
	Name string // file name, or "" for a stream
	Line int    // 1-based
	Err  error
}

// Error formats "name:line: problem", as compilers do, so editors can jump
// to it.
func (e *LineError) Error() string {
	name := e.Name
	if name == "" {
		name = "recording"
	}
	return fmt.Sprintf("%s:%d: %v", name, e.Line, e.Err)
}

// Unwrap returns the cause.
func (e *LineError) Unwrap() error { return e.Err }

// ErrTruncated is wrapped by the LineError of a last line that ends
// mid-object: the recorder was killed while writing it.
var ErrTruncated = errors.New("truncated: the file ends in the middle of this line (was the recorder killed? delete the last line to read the rest)")

// Item is one line after the header: exactly one of Frame, Event or End
// is set.
type Item struct {
	Line  int
	Frame *client.Frame
	Event *Event
	End   *End
}

// Reader reads a recording line by line, for files too large to hold in
// memory. NewReader reads and checks the header.
type Reader struct {
	name   string
	br     *bufio.Reader
	line   int
	header Header
	frames int
	ended  bool
}

// NewReader reads the header from r. name is used in error messages (the
// file name; "" for a stream).
func NewReader(r io.Reader, name string) (*Reader, error) {
	rd := &Reader{name: name, br: bufio.NewReaderSize(r, 64<<10)}
	b, last, err := rd.readLine()
	if err == io.EOF {
		return nil, rd.errf("empty file: not a kalamdash recording")
	}
	if err != nil {
		return nil, err
	}
	var probe struct {
		Version *int `json:"kalamdash_recording"`
	}
	if jerr := json.Unmarshal(b, &probe); jerr != nil {
		if last && isTruncation(jerr) {
			return nil, rd.wrap(ErrTruncated)
		}
		return nil, rd.errf("not a kalamdash recording: line 1 is not a JSON header object (%v)", jerr)
	}
	if probe.Version == nil {
		return nil, rd.errf(`not a kalamdash recording: the header has no "kalamdash_recording" version field`)
	}
	if v := *probe.Version; v < 1 || v > Version {
		return nil, rd.errf("recording format version %d is not supported (this kalamdash reads versions 1 to %d; upgrade kalamdash)", v, Version)
	}
	if err := json.Unmarshal(b, &rd.header); err != nil {
		return nil, rd.errf("bad header: %v", err)
	}
	return rd, nil
}

// Header returns the recording's header.
func (r *Reader) Header() Header { return r.header }

// Next returns the next line, or io.EOF after the last. Blank lines and
// lines of kinds this version does not know are skipped (newer writers may
// add kinds without bumping Version). Every error is a *LineError.
func (r *Reader) Next() (Item, error) {
	for {
		b, last, err := r.readLine()
		if err != nil {
			return Item{}, err
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		if r.ended {
			return Item{}, r.errf(`data after the "end" trailer (two recordings concatenated?)`)
		}
		var fl frameLine
		if jerr := json.Unmarshal(b, &fl); jerr != nil {
			if last && isTruncation(jerr) {
				return Item{}, r.wrap(ErrTruncated)
			}
			return Item{}, r.errf("malformed line: %v", jerr)
		}
		it := Item{Line: r.line}
		switch fl.Kind {
		case KindFrame:
			f, ferr := fromLine(&fl)
			if ferr != nil {
				return Item{}, r.errf("bad frame: %v", ferr)
			}
			r.frames++
			it.Frame = &f
		case KindEvent:
			var el eventLine
			if jerr := json.Unmarshal(b, &el); jerr != nil {
				return Item{}, r.errf("bad event: %v", jerr)
			}
			if el.Event.Event == "" {
				return Item{}, r.errf(`bad event: no "event" name`)
			}
			el.Event.FrameIndex = r.frames
			it.Event = &el.Event
		case KindEnd:
			var end endLine
			if jerr := json.Unmarshal(b, &end); jerr != nil {
				return Item{}, r.errf("bad end line: %v", jerr)
			}
			r.ended = true
			it.End = &end.End
		case "":
			return Item{}, r.errf(`malformed line: no "kind" (want "frame", "event" or "end")`)
		default:
			continue
		}
		return it, nil
	}
}

// readLine returns the next line without its line ending; last is true
// when the line had no newline (the end of the file).
func (r *Reader) readLine() (b []byte, last bool, err error) {
	b, err = r.br.ReadBytes('\n')
	if len(b) == 0 && err != nil {
		if err == io.EOF {
			return nil, true, io.EOF
		}
		r.line++
		return nil, true, r.wrap(fmt.Errorf("read: %w", err))
	}
	r.line++
	if err != nil && err != io.EOF {
		return nil, true, r.wrap(fmt.Errorf("read: %w", err))
	}
	last = err == io.EOF
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	return b, last, nil
}

func isTruncation(err error) bool {
	var se *json.SyntaxError
	return errors.As(err, &se) && se.Error() == "unexpected end of JSON input" ||
		errors.Is(err, io.ErrUnexpectedEOF)
}

func (r *Reader) errf(format string, args ...any) error {
	return r.wrap(fmt.Errorf(format, args...))
}

func (r *Reader) wrap(err error) error {
	line := r.line
	if line == 0 {
		line = 1
	}
	return &LineError{Name: r.name, Line: line, Err: err}
}

// Read reads a whole recording from r. name is used in error messages.
func Read(r io.Reader, name string) (*Recording, error) {
	rd, err := NewReader(r, name)
	if err != nil {
		return nil, err
	}
	rec := &Recording{Header: rd.Header()}
	for {
		it, err := rd.Next()
		if err == io.EOF {
			return rec, nil
		}
		if err != nil {
			return nil, err
		}
		switch {
		case it.Frame != nil:
			rec.Frames = append(rec.Frames, *it.Frame)
		case it.Event != nil:
			rec.Events = append(rec.Events, *it.Event)
		case it.End != nil:
			rec.End = it.End
		}
	}
}

// ReadFile reads the recording at path. Errors name the file and line.
func ReadFile(path string) (*Recording, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f, path)
}
