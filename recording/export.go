package recording

import (
	"bytes"
	"fmt"
	"io"

	"github.com/kalamdash/kalamdash/client"
)

// Export formats.
const (
	FormatJSONL = "jsonl"
	FormatHAR   = "har"
)

// Export writes frames — a dashboard's whole frame log or just the
// filtered frames — as a recording (FormatJSONL) or HAR 1.2 (FormatHAR)
// to path, created 0600. The writer options apply as for NewWriter: the
// output is redacted unless WithReveal(true). The trailer's reason is
// "export".
func Export(path, format string, h Header, frames []client.Frame, opts ...WriterOption) error {
	if err := checkFormat(format); err != nil {
		return err
	}
	f, err := CreateFile(path)
	if err != nil {
		return err
	}
	if err := ExportTo(f, format, h, frames, opts...); err != nil {
		f.Close()
		return fmt.Errorf("export to %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("export to %s: %w", path, err)
	}
	return nil
}

// ExportTo is Export to an io.Writer.
func ExportTo(w io.Writer, format string, h Header, frames []client.Frame, opts ...WriterOption) error {
	if err := checkFormat(format); err != nil {
		return err
	}
	var buf bytes.Buffer
	dst := w
	if format == FormatHAR {
		// HAR is built from the recording so both get the same redaction.
		dst = &buf
	}
	rw, err := NewWriter(dst, h, opts...)
	if err != nil {
		return err
	}
	for _, f := range frames {
		if err := rw.WriteFrame(f); err != nil {
			return err
		}
	}
	if err := rw.Close(End{Reason: "export"}); err != nil {
		return err
	}
	if format != FormatHAR {
		return nil
	}
	rec, err := Read(&buf, "")
	if err != nil {
		return err
	}
	return WriteHAR(w, rec, h.ToolVersion)
}

func checkFormat(format string) error {
	if format != FormatJSONL && format != FormatHAR {
		return fmt.Errorf("export format %q: want %s or %s", format, FormatJSONL, FormatHAR)
	}
	return nil
}
