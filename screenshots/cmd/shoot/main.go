// Command shoot renders kalamdash screens to PNG files for the README.
//
// Usage:
//
//	go run ./screenshots/cmd/shoot                 # ui.Screens → screenshots/*.png
//	go run ./screenshots/cmd/shoot -from file -in x.ansi -o x.png -cols 120 -rows 36
//	go run ./screenshots/cmd/shoot -from tmux -cmd './kalamdash --truecolor' \
//	    -keys 'Enter' -wait 'Token' -o dashboard.png
//
// The default mode takes the screens from ui.Screens (a stub backend with a
// fixed clock), so the images are the same on every run; -from tmux
// captures a real program running in a private tmux server instead.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/kalamdash/kalamdash/screenshots"
)

// config holds the parsed flags.
type config struct {
	from     string
	out      string
	cols     int
	rows     int
	fontSize float64
	embedded bool
	light    bool
	only     string // -from ui: comma-separated screen names
	small    bool   // -from ui: also shoot the compact screens at 80×24

	in     string // -from file
	output string // -from file/tmux: the PNG path

	cmd     string // -from tmux
	keys    string
	wait    string
	timeout float64

	log io.Writer // progress messages
}

func main() {
	c := config{log: os.Stderr}
	flag.StringVar(&c.from, "from", "ui", "where screens come from: ui (ui.Screens), file (-in), tmux (-cmd)")
	flag.StringVar(&c.out, "out", "screenshots", "directory for the PNGs of -from ui")
	flag.IntVar(&c.cols, "cols", 120, "terminal width in cells")
	flag.IntVar(&c.rows, "rows", 36, "terminal height in cells")
	flag.Float64Var(&c.fontSize, "font-size", 16, "text size in pixels")
	flag.BoolVar(&c.embedded, "embedded-font", false, "use only the embedded Go Mono font (same pixels everywhere)")
	flag.BoolVar(&c.light, "light", false, "light palette and, with -from ui, the light theme")
	flag.StringVar(&c.only, "only", "", "-from ui: comma-separated screen names to write (default all)")
	flag.BoolVar(&c.small, "80x24", true, "-from ui: also write the compact screens at 80×24 as NAME-80x24.png")
	flag.StringVar(&c.in, "in", "", "-from file: ANSI text file to render ('-' for stdin)")
	flag.StringVar(&c.output, "o", "", "-from file/tmux: PNG file to write")
	flag.StringVar(&c.cmd, "cmd", "", "-from tmux: shell command to run in the pane")
	flag.StringVar(&c.keys, "keys", "", "-from tmux: space-separated tmux key names to send after start-up (e.g. 'Enter 2 Tab')")
	flag.StringVar(&c.wait, "wait", "", "-from tmux: text that must be on screen before the capture")
	flag.Float64Var(&c.timeout, "timeout", 15, "-from tmux: seconds to wait for -wait")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: shoot [flags]  (renders kalamdash screens to PNG)")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(&c); err != nil {
		fmt.Fprintln(c.log, "shoot:", err)
		os.Exit(1)
	}
}

func run(c *config) error {
	opts := screenshots.Options{FontSize: c.fontSize, EmbeddedFontOnly: c.embedded}
	if c.light {
		opts.Palette = &screenshots.LightPalette
	}
	r, err := screenshots.NewRenderer(opts)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.log, "shoot: font", r.FontName())
	switch c.from {
	case "ui":
		return shootUI(r, c)
	case "file":
		return shootFile(r, c)
	case "tmux":
		return shootTmux(r, c)
	}
	return fmt.Errorf("unknown -from %q: use ui, file or tmux", c.from)
}

// shootFile renders one ANSI file.
func shootFile(r *screenshots.Renderer, c *config) error {
	if c.in == "" || c.output == "" {
		return fmt.Errorf("-from file needs -in FILE.ansi and -o FILE.png")
	}
	var data []byte
	var err error
	if c.in == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(c.in)
	}
	if err != nil {
		return err
	}
	if err := r.WritePNG(c.output, string(data), c.cols, c.rows); err != nil {
		return err
	}
	fmt.Fprintln(c.log, "shoot: wrote", c.output)
	return nil
}
