package cli

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"
	"github.com/charmbracelet/x/vt"

	"github.com/kalamdash/kalamdash/kalamtest"
	"github.com/kalamdash/kalamdash/session"
	"github.com/kalamdash/kalamdash/theme"
	"github.com/kalamdash/kalamdash/ui"
)

// vtScreen feeds a program's output into a virtual terminal so tests can
// read the screen as the user sees it (go-tui-stack.md 4(b)).
type vtScreen struct {
	mu   sync.Mutex
	emu  *vt.Emulator
	done chan struct{}
	wg   sync.WaitGroup
}

func newVTScreen(out io.Reader, w, h int) *vtScreen {
	s := &vtScreen{emu: vt.NewEmulator(w, h), done: make(chan struct{})}
	// Terminal query replies must be drained or Write blocks. This reader
	// is left blocked when the test ends: vt v0.1.0's Close races with a
	// concurrent Read (an unsynchronised closed flag), so the emulator is
	// never closed.
	go io.Copy(io.Discard, s.emu)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		buf := make([]byte, 64<<10)
		for {
			n, err := out.Read(buf)
			if n > 0 {
				s.mu.Lock()
				s.emu.Write(bytes.ReplaceAll(buf[:n], []byte("\n"), []byte("\r\n")))
				s.mu.Unlock()
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return
			}
			if n == 0 {
				select {
				case <-s.done:
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
		}
	}()
	return s
}

func (s *vtScreen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.emu.String()
}

func (s *vtScreen) close() {
	close(s.done)
	s.wg.Wait()
}

func (s *vtScreen) waitFor(t *testing.T, d time.Duration, subs ...string) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		scr := s.String()
		ok := true
		for _, sub := range subs {
			ok = ok && strings.Contains(scr, sub)
		}
		if ok {
			return scr
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %q; screen:\n%s", subs, scr)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// TestDashboardInProcess runs the real Bubble Tea program (teatest, no
// terminal needed) on the demo server: login, compression switch, manual
// refresh, quit. It complements the tmux test where tmux is missing.
func TestDashboardInProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED in -short: runs the full program against the demo server")
	}
	srv, err := kalamtest.NewServer(kalamtest.WithDemo(), kalamtest.WithAccessTTL(2*time.Minute), kalamtest.WithRefreshTTL(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	b := newBackend(session.NewManager(), srv, nil)
	defer b.Close()

	m := ui.New(b, ui.WithStyles(theme.NoColor(), true), ui.WithLogin(ui.LoginDefaults{
		URL: srv.URL, Auth: "password", User: kalamtest.DemoAdmin, Password: kalamtest.DemoAdminPW}))
	const w, h = 100, 30
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h))
	scr := newVTScreen(tm.Output(), w, h)
	defer scr.close()

	scr.waitFor(t, 10*time.Second, "server URL", "connect to a KalamDB server")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	scr.waitFor(t, 15*time.Second, "● connected", "binary initial_data_batch", "json gzip")

	tm.Send(tea.KeyPressMsg{Code: 'c', Text: "c"})
	scr.waitFor(t, 15*time.Second, "json plain", "text   subscription_ack")

	tm.Send(tea.KeyPressMsg{Code: '2', Text: "2"})
	scr.waitFor(t, 5*time.Second, "Rotations")
	tm.Send(tea.KeyPressMsg{Code: 'R', Text: "R"})
	scr.waitFor(t, 10*time.Second, " manual ", "refreshAuth: done")

	tm.Send(tea.KeyPressMsg{Code: 'q', Text: "q"})
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
}
