package cli

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/internal/testkit"
)

// tmuxSession runs the kalamdash binary in a private tmux server at a fixed
// size and reads its screen (go-tui-stack.md 4(c)).
type tmuxSession struct {
	t    *testing.T
	sock string
	dir  string
}

func startTmux(t *testing.T, w, h int, args ...string) *tmuxSession {
	t.Helper()
	dir, bin := buildForTmux(t)
	return startTmuxWith(t, dir, bin, w, h, nil, args...)
}

// buildForTmux builds the binary into a new directory for a test that
// drives it in tmux, skipping the test in -short mode or when tmux is
// missing.
func buildForTmux(t *testing.T) (dir, bin string) {
	t.Helper()
	if testing.Short() {
		t.Skip("SKIPPED in -short: builds the binary and drives it in tmux")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("SKIPPED: tmux is not installed; the end-to-end dashboard test needs it (apt-get install tmux)")
	}
	dir = t.TempDir()
	bin = filepath.Join(dir, "kalamdash")
	if out, err := exec.Command("go", "build", "-o", bin, "../..").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir, bin
}

// startTmuxWith runs bin with args in tmux, with env (NAME=value) added to
// its environment.
func startTmuxWith(t *testing.T, dir, bin string, w, h int, env []string, args ...string) *tmuxSession {
	t.Helper()
	conf := filepath.Join(dir, "tmux.conf")
	os.WriteFile(conf, []byte("set -g default-terminal tmux-256color\nset -g escape-time 0\nset -g status off\nset -g remain-on-exit on\n"), 0o600)
	s := &tmuxSession{t: t, sock: filepath.Join(dir, "sock"), dir: dir}
	// Wrap the command so its exit status lands in a file (tmux may leave
	// #{pane_dead_status} empty for a while).
	cmd := append([]string{"sh", "-c", `"$@"; echo $? > "$0"`, filepath.Join(dir, "status"), bin}, args...)
	tmuxArgs := append([]string{"-S", s.sock, "-f", conf, "new-session", "-d", "-s", "app",
		"-x", itoa(w), "-y", itoa(h), "-e", "XDG_CONFIG_HOME=" + filepath.Join(dir, "config"), "-e", "NO_COLOR="}, envArgs(env)...)
	tmuxArgs = append(tmuxArgs, cmd...)
	if out, err := exec.Command("tmux", tmuxArgs...).CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("tmux", "-S", s.sock, "kill-server").Run() })
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }

// quit presses q and waits for the program to exit with status 0,
// failing with the screen otherwise.
func (s *tmuxSession) quit() {
	s.t.Helper()
	s.keys("q")
	status := testkit.Poll(s.t, "the program to exit after q", func() string {
		b, _ := os.ReadFile(filepath.Join(s.dir, "status"))
		return strings.TrimSpace(string(b))
	}, func(st string) bool { return st != "" })
	if status != "0" {
		s.t.Fatalf("exit status %s after q; screen:\n%s", status, s.screen())
	}
}

// startServe runs `kalamdash serve` on a free port with args and returns
// its URL; the server stops with the test.
func startServe(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := serveURLRE.FindString(sc.Text()); m != "" {
				urls <- m
				break
			}
		}
		io.Copy(io.Discard, out)
	}()
	select {
	case u := <-urls:
		return u
	case <-time.After(30 * time.Second):
		t.Fatal("kalamdash serve printed no URL")
	}
	return ""
}

var serveURLRE = regexp.MustCompile(`http://127\.0\.0\.1:\d+`)

func envArgs(env []string) []string {
	var out []string
	for _, e := range env {
		out = append(out, "-e", e)
	}
	return out
}

// screenANSI is the screen with its colours and attributes as SGR
// sequences (capture-pane -e).
func (s *tmuxSession) screenANSI() string {
	out, err := exec.Command("tmux", "-S", s.sock, "capture-pane", "-p", "-e", "-t", "app").Output()
	if err != nil {
		s.t.Fatalf("capture-pane -e: %v", err)
	}
	return string(out)
}

// paneTitle is the title the program set (OSC 0/2), as tmux keeps it.
func (s *tmuxSession) paneTitle() string {
	out, err := exec.Command("tmux", "-S", s.sock, "display-message", "-p", "-t", "app", "#{pane_title}").Output()
	if err != nil {
		s.t.Fatalf("display-message: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func (s *tmuxSession) screen() string {
	out, err := exec.Command("tmux", "-S", s.sock, "capture-pane", "-p", "-t", "app").Output()
	if err != nil {
		s.t.Fatalf("capture-pane: %v", err)
	}
	return string(out)
}

func (s *tmuxSession) keys(keys ...string) {
	s.t.Helper()
	args := append([]string{"-S", s.sock, "send-keys", "-t", "app"}, keys...)
	if out, err := exec.Command("tmux", args...).CombinedOutput(); err != nil {
		s.t.Fatalf("send-keys %v: %v\n%s", keys, err, out)
	}
}

// waitFor polls the screen until ok returns true, failing with the screen
// after the deadline.
func (s *tmuxSession) waitFor(what string, d time.Duration, ok func(screen string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(d)
	for {
		scr := s.screen()
		if ok(scr) {
			return scr
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for %s; screen:\n%s", what, scr)
		}
		time.Sleep(40 * time.Millisecond)
	}
}

func (s *tmuxSession) waitText(d time.Duration, subs ...string) string {
	s.t.Helper()
	return s.waitFor(strings.Join(subs, " & "), d, func(scr string) bool {
		for _, sub := range subs {
			if !strings.Contains(scr, sub) {
				return false
			}
		}
		return true
	})
}

var (
	countdownRE = regexp.MustCompile(`access\s+(\d+:\d\d)`)
	rotationsRE = regexp.MustCompile(`Rotations (\d+)`)
)

// TestDashboardEndToEnd runs the real binary on the embedded demo server:
// one Enter logs in, the access countdown moves, the compression key
// switches to text frames whose raw JSON shows in the detail pane, and a
// manual refresh adds a rotation row. Run: go test -run TestDashboardEndToEnd .
func TestDashboardEndToEnd(t *testing.T) {
	s := startTmux(t, 100, 30)
	s.waitText(15*time.Second, "Demo server", "Press Enter to connect")
	s.keys("Enter")
	s.waitText(10*time.Second, "● connected", "Frames", "DEMO SERVER")
	// Gzip is on: the initial batches arrive as binary gzip frames.
	s.waitText(10*time.Second, "binary initial_data_batch")

	// The countdown moves.
	first := countdownRE.FindStringSubmatch(s.screen())
	if first == nil {
		t.Fatalf("no access countdown on screen:\n%s", s.screen())
	}
	s.waitFor("the countdown to move from "+first[1], 15*time.Second, func(scr string) bool {
		m := countdownRE.FindStringSubmatch(scr)
		return m != nil && m[1] != first[1]
	})

	// The compression key reconnects with compress=false: text frames.
	s.keys("c")
	s.waitText(10*time.Second, "json plain", "↓ text   subscription_ack")
	s.waitText(10*time.Second, "↓ text   change")
	// Raw view of the newest (followed) frame is readable JSON.
	s.keys("v")
	s.waitFor("raw JSON in the detail pane", 10*time.Second, func(scr string) bool {
		return strings.Contains(scr, " raw ") && strings.Contains(scr, `{"type":"`)
	})

	// A manual refresh adds a rotation row.
	s.keys("2")
	scr := s.waitText(15*time.Second, "Rotations")
	before := rotationsRE.FindStringSubmatch(scr)
	s.keys("R")
	s.waitFor("a new rotation row", 10*time.Second, func(scr string) bool {
		m := rotationsRE.FindStringSubmatch(scr)
		return m != nil && m[1] != before[1] && strings.Contains(scr, " manual ")
	})

	// q quits cleanly with status 0.
	s.quit()
}
