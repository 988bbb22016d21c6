package main

import (
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kalamdash/kalamdash/screenshots"
	"github.com/kalamdash/kalamdash/ui"
)

// decode reads a PNG written by the command.
func decode(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// wantSize is the image size of a cols×rows shot with c's font options.
func wantSize(t *testing.T, c *config, cols, rows int) image.Point {
	t.Helper()
	r, err := screenshots.NewRenderer(screenshots.Options{FontSize: c.fontSize, EmbeddedFontOnly: c.embedded})
	if err != nil {
		t.Fatal(err)
	}
	w, h := r.CellSize()
	return image.Pt(2*r.Padding()+cols*w, 2*r.Padding()+rows*h)
}

func TestShootUIWritesEveryScreen(t *testing.T) {
	c := &config{from: "ui", out: t.TempDir(), cols: 100, rows: 30, fontSize: 8, embedded: true, small: true, log: io.Discard}
	if err := run(c); err != nil {
		t.Fatal(err)
	}
	screens := ui.Screens(100, 30)
	if len(screens) == 0 {
		t.Fatal("ui.Screens returned nothing")
	}
	for _, s := range screens {
		img := decode(t, filepath.Join(c.out, s.Name+".png"))
		if got, want := img.Bounds().Size(), wantSize(t, c, 100, 30); got != want {
			t.Errorf("%s.png is %v, want %v", s.Name, got, want)
		}
	}
	for name := range compact {
		img := decode(t, filepath.Join(c.out, name+"-80x24.png"))
		if got, want := img.Bounds().Size(), wantSize(t, c, 80, 24); got != want {
			t.Errorf("%s-80x24.png is %v, want %v", name, got, want)
		}
	}
}

func TestShootFile(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "x.ansi")
	if err := os.WriteFile(in, []byte("\x1b[41mred\x1b[0m\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &config{from: "file", in: in, output: filepath.Join(dir, "x.png"), cols: 10, rows: 2, fontSize: 8, embedded: true, log: io.Discard}
	if err := run(c); err != nil {
		t.Fatal(err)
	}
	img := decode(t, c.output)
	if got, want := img.Bounds().Size(), wantSize(t, c, 10, 2); got != want {
		t.Errorf("size %v, want %v", got, want)
	}
}

func TestShootTmuxCapturesColours(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux not installed (apt-get install tmux)")
	}
	dir := t.TempDir()
	// The pane shows a red background block, then waits to be killed.
	c := &config{
		from: "tmux", cmd: `printf '\033[41m    \033[0m ready'; exec sleep 60`, wait: "ready",
		output: filepath.Join(dir, "t.png"), cols: 20, rows: 3, fontSize: 8, embedded: true, timeout: 20, log: io.Discard,
	}
	if err := run(c); err != nil {
		t.Fatal(err)
	}
	img := decode(t, c.output)
	r, err := screenshots.NewRenderer(screenshots.Options{FontSize: 8, EmbeddedFontOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	cell := r.CellRect(1, 0)
	got := img.At(cell.Min.X+1, cell.Min.Y+1)
	want := screenshots.DarkPalette.ANSI[1]
	if gr, gg, gb, _ := got.RGBA(); uint8(gr>>8) != want.R || uint8(gg>>8) != want.G || uint8(gb>>8) != want.B {
		t.Errorf("cell (1,0) is %v, want the palette red %v", got, want)
	}
}

func TestShootRejectsBadFlags(t *testing.T) {
	for _, c := range []*config{
		{from: "nowhere", fontSize: 8, log: io.Discard},
		{from: "file", fontSize: 8, log: io.Discard},
		{from: "tmux", fontSize: 8, log: io.Discard},
		{from: "ui", fontSize: -3, log: io.Discard},
	} {
		if err := run(c); err == nil {
			t.Errorf("run(%+v): no error", *c)
		} else if strings.TrimSpace(err.Error()) == "" {
			t.Errorf("run(%+v): empty error", *c)
		}
	}
}

func TestShootUIOnlyAndLight(t *testing.T) {
	c := &config{from: "ui", out: t.TempDir(), cols: 90, rows: 28, fontSize: 8, embedded: true, light: true, only: "dashboard", small: true, log: io.Discard}
	if err := run(c); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(c.out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "dashboard-80x24-light.png,dashboard-light.png" {
		t.Errorf("wrote %v, want only the light dashboard at both sizes", names)
	}
	img := decode(t, filepath.Join(c.out, "dashboard-light.png"))
	bg := screenshots.LightPalette.Background
	if r, g, b, _ := img.At(0, 0).RGBA(); uint8(r>>8) != bg.R || uint8(g>>8) != bg.G || uint8(b>>8) != bg.B {
		t.Errorf("light screenshot padding is %v, want %v", img.At(0, 0), bg)
	}
	c.only = "no-such-screen"
	if err := run(c); err == nil || !strings.Contains(err.Error(), "no-such-screen") {
		t.Errorf("-only with an unknown name: err %v", err)
	}
}

// TestCommittedScreenshotsCoverEveryScreen keeps the README honest: every
// screen ui.Screens offers has a PNG in screenshots/ that the README shows.
// Regenerate with: go generate ./screenshots
func TestCommittedScreenshotsCoverEveryScreen(t *testing.T) {
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ui.Screens(120, 36) {
		png := "screenshots/" + s.Name + ".png"
		if _, err := os.Stat("../../" + s.Name + ".png"); err != nil {
			t.Errorf("%s is missing (go generate ./screenshots)", png)
		}
		if !strings.Contains(string(readme), "("+png+")") {
			t.Errorf("README.md does not show %s", png)
		}
	}
}
