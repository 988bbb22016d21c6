package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kalamdash/kalamdash/screenshots"
	"github.com/kalamdash/kalamdash/ui"
)

// compact lists the screens also shot at 80×24, to show the small layout.
var compact = map[string]bool{"dashboard": true}

// shootUI writes one PNG per ui.Screens entry at -cols×-rows, and the
// compact ones again at 80×24 as NAME-80x24.png.
func shootUI(r *screenshots.Renderer, c *config) error {
	screens := ui.Screens
	if c.light {
		screens = ui.ScreensLight
	}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}
	suffix := ""
	if c.light {
		suffix = "-light"
	}
	write := func(s ui.Screen, cols, rows int, name string) error {
		path := filepath.Join(c.out, name+suffix+".png")
		if err := r.WritePNG(path, s.ANSI, cols, rows); err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
		fmt.Fprintf(c.log, "shoot: wrote %s (%s)\n", path, s.Title)
		return nil
	}
	want := func(string) bool { return true }
	if c.only != "" {
		names := map[string]bool{}
		for _, n := range strings.Split(c.only, ",") {
			names[strings.TrimSpace(n)] = true
		}
		want = func(n string) bool { return names[n] }
	}
	all := screens(c.cols, c.rows)
	wrote := 0
	for _, s := range all {
		if !want(s.Name) {
			continue
		}
		if err := write(s, c.cols, c.rows, s.Name); err != nil {
			return err
		}
		wrote++
	}
	if wrote == 0 {
		return fmt.Errorf("no screen to write: ui.Screens returned %d, none matching -only %q", len(all), c.only)
	}
	if !c.small || (c.cols == 80 && c.rows == 24) {
		return nil
	}
	for _, s := range screens(80, 24) {
		if compact[s.Name] && want(s.Name) {
			if err := write(s, 80, 24, s.Name+"-80x24"); err != nil {
				return err
			}
		}
	}
	return nil
}
