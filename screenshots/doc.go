// Package screenshots renders terminal output (text with ANSI escape
// sequences) to PNG images, without a browser or a real terminal.
//
// The text is fed to a charmbracelet/x/vt terminal emulator of a fixed size,
// and every cell of the resulting screen is painted with its colours and
// attributes: 16, 256 and true colours, default foreground and background,
// reverse, faint, bold, italic, underline (single, double, curly, dotted,
// dashed) and strikethrough. Box drawing, block elements and braille are drawn
// as shapes rather than glyphs, so borders join up seamlessly and sparklines
// and spinners look the same whichever font is installed.
//
// Text uses DejaVu Sans Mono when it is installed (Debian: fonts-dejavu-core),
// DejaVu Sans for the runes the monospace face lacks, and the Go Mono face
// embedded in the binary as the last resort, so rendering works on machines
// without any fonts. [Renderer.FontName] says which face was used.
//
// The same input, size, options and fonts always give the same image bytes.
package screenshots

//go:generate go run ./cmd/shoot -out .
//go:generate go run ./cmd/shoot -out . -light -only dashboard -80x24=false
