// Package vtscreen feeds a Bubble Tea program's output into a virtual
// terminal so tests can read the screen as the user sees it
// (go-tui-stack.md 4(b)). It is imported by tests only: the commands'
// (internal/cli) and the adapter's (internal/app).
package vtscreen

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/vt"
)

// Screen is a virtual terminal reading a program's output.
type Screen struct {
	mu   sync.Mutex
	emu  *vt.Emulator
	done chan struct{}
	wg   sync.WaitGroup
}

// New starts feeding out into a w×h virtual terminal until Close.
func New(out io.Reader, w, h int) *Screen {
	s := &Screen{emu: vt.NewEmulator(w, h), done: make(chan struct{})}
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

// String returns the screen's text.
func (s *Screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.emu.String()
}

// Close stops reading the program's output.
func (s *Screen) Close() {
	close(s.done)
	s.wg.Wait()
}

// WaitFor polls the screen until it shows every one of subs and returns
// it; after d it fails the test with the screen.
func (s *Screen) WaitFor(t testing.TB, d time.Duration, subs ...string) string {
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
