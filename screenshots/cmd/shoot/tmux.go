package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kalamdash/kalamdash/screenshots"
)

// tmuxConf keeps the private server out of the way: no status line (it
// would take a row), no Escape delay, the pane kept after the command exits
// so its last screen can still be captured.
const tmuxConf = `set -g default-terminal tmux-256color
set -g escape-time 0
set -g status off
set -g remain-on-exit on
set -ga terminal-overrides ",*:Tc"
`

// tmux runs commands against one private tmux server.
type tmux struct{ sock, conf string }

func (t *tmux) run(args ...string) (string, error) {
	cmd := exec.Command("tmux", append([]string{"-S", t.sock, "-f", t.conf}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("tmux %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// shootTmux starts -cmd in a detached tmux pane of -cols×-rows (never
// attached, so the size stays fixed), sends -keys, waits until -wait is on
// screen and captures the pane with its colours.
func shootTmux(r *screenshots.Renderer, c *config) error {
	if c.cmd == "" || c.output == "" {
		return errors.New("-from tmux needs -cmd COMMAND and -o FILE.png")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		return errors.New("tmux is not installed (apt-get install tmux), or use -from ui")
	}
	dir, err := os.MkdirTemp("", "shoot-tmux-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	t := &tmux{sock: filepath.Join(dir, "sock"), conf: filepath.Join(dir, "tmux.conf")}
	if err := os.WriteFile(t.conf, []byte(tmuxConf), 0o600); err != nil {
		return err
	}
	if _, err := t.run("new-session", "-d", "-s", "shoot",
		"-x", strconv.Itoa(c.cols), "-y", strconv.Itoa(c.rows),
		"-e", "COLORTERM=truecolor", c.cmd); err != nil {
		return err
	}
	defer t.run("kill-server") //nolint:errcheck // best effort on the way out

	deadline := time.Now().Add(time.Duration(c.timeout * float64(time.Second)))
	if c.keys != "" {
		// Keys sent before the program has drawn (and so put the terminal
		// in raw mode) are lost: wait for a settled first screen.
		if err := waitSettled(t, deadline); err != nil {
			return err
		}
	}
	for _, k := range strings.Fields(c.keys) {
		// Give the program a moment to draw between keys by waiting for
		// the screen to change or settle, not by sleeping blindly.
		before, _ := t.run("capture-pane", "-p", "-t", "shoot")
		if _, err := t.run("send-keys", "-t", "shoot", k); err != nil {
			return err
		}
		waitChange(t, before, deadline)
	}
	for {
		screen, err := t.run("capture-pane", "-p", "-t", "shoot")
		if err != nil {
			return err
		}
		if c.wait == "" || strings.Contains(screen, c.wait) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%q did not appear within %vs; the screen was:\n%s", c.wait, c.timeout, screen)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// -e keeps colours and attributes, -N keeps trailing spaces (and with
	// them background colours that run to the right edge).
	ansi, err := t.run("capture-pane", "-p", "-e", "-N", "-t", "shoot")
	if err != nil {
		return err
	}
	if err := r.WritePNG(c.output, ansi, c.cols, c.rows); err != nil {
		return err
	}
	fmt.Fprintln(c.log, "shoot: wrote", c.output)
	return nil
}

// waitChange polls until the pane differs from before, for at most half a
// second (some keys change nothing visible) or until the deadline.
func waitChange(t *tmux, before string, deadline time.Time) {
	limit := time.Now().Add(500 * time.Millisecond)
	if deadline.Before(limit) {
		limit = deadline
	}
	for time.Now().Before(limit) {
		now, err := t.run("capture-pane", "-p", "-t", "shoot")
		if err != nil || now != before {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// waitSettled polls until the pane shows something and has not changed for
// 200 ms, or fails at the deadline.
func waitSettled(t *tmux, deadline time.Time) error {
	var last string
	since := time.Now()
	for {
		now, err := t.run("capture-pane", "-p", "-t", "shoot")
		if err != nil {
			return err
		}
		if now != last {
			last, since = now, time.Now()
		} else if strings.TrimSpace(now) != "" && time.Since(since) >= 200*time.Millisecond {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the program drew nothing steady before the deadline; the screen was:\n%s", now)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
