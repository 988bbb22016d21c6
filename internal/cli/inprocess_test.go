package cli

import (
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/kalamdash/kalamdash/internal/app"
	"github.com/kalamdash/kalamdash/internal/vtscreen"
	"github.com/kalamdash/kalamdash/kalamtest"
	"github.com/kalamdash/kalamdash/session"
	"github.com/kalamdash/kalamdash/theme"
	"github.com/kalamdash/kalamdash/ui"
)

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
	d := startDashboard(t, srv, ui.LoginDefaults{URL: srv.URL, Auth: "password", User: kalamtest.DemoAdmin, Password: kalamtest.DemoAdminPW},
		100, 30, "connect to a KalamDB server")
	d.scr.WaitFor(t, 15*time.Second, "binary initial_data_batch", "json gzip")

	d.key('c')
	d.scr.WaitFor(t, 15*time.Second, "json plain", "text   subscription_ack")

	d.key('2')
	d.scr.WaitFor(t, 15*time.Second, "Rotations")
	d.key('R')
	d.scr.WaitFor(t, 10*time.Second, " manual ", "refreshAuth: done")

	d.quit(t)
}

// dashboard is the real program running in process (teatest) and the
// screen it draws.
type dashboard struct {
	tm  *teatest.TestModel
	scr *vtscreen.Screen
}

// startDashboard runs the real program at w×h on a live backend (demo:
// the embedded demo server, or nil), with login as the login form's
// defaults: it waits for the form (and onForm's texts on it), submits it
// and waits until the tab is connected. The screen and the backend are
// closed when the test ends.
func startDashboard(t *testing.T, demo *kalamtest.Server, login ui.LoginDefaults, w, h int, onForm ...string) *dashboard {
	t.Helper()
	b := app.NewBackend(session.NewManager(), demo, nil)
	t.Cleanup(func() { b.Close() })
	m := ui.New(b, ui.WithStyles(theme.NoColor(), true), ui.WithLogin(login))
	d := &dashboard{tm: teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h))}
	d.scr = vtscreen.New(d.tm.Output(), w, h)
	t.Cleanup(d.scr.Close)
	d.scr.WaitFor(t, 10*time.Second, append([]string{"server URL"}, onForm...)...)
	d.tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	d.scr.WaitFor(t, 15*time.Second, "● connected")
	return d
}

// key presses the key r.
func (d *dashboard) key(r rune) { d.tm.Send(tea.KeyPressMsg{Code: r, Text: string(r)}) }

// quit presses q and waits for the program to end.
func (d *dashboard) quit(t *testing.T) {
	t.Helper()
	d.key('q')
	d.tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
}
