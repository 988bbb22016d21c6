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
	b := app.NewBackend(session.NewManager(), srv, nil)
	defer b.Close()

	m := ui.New(b, ui.WithStyles(theme.NoColor(), true), ui.WithLogin(ui.LoginDefaults{
		URL: srv.URL, Auth: "password", User: kalamtest.DemoAdmin, Password: kalamtest.DemoAdminPW}))
	const w, h = 100, 30
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h))
	scr := vtscreen.New(tm.Output(), w, h)
	defer scr.Close()

	scr.WaitFor(t, 10*time.Second, "server URL", "connect to a KalamDB server")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	scr.WaitFor(t, 15*time.Second, "● connected", "binary initial_data_batch", "json gzip")

	tm.Send(tea.KeyPressMsg{Code: 'c', Text: "c"})
	scr.WaitFor(t, 15*time.Second, "json plain", "text   subscription_ack")

	tm.Send(tea.KeyPressMsg{Code: '2', Text: "2"})
	scr.WaitFor(t, 15*time.Second, "Rotations")
	tm.Send(tea.KeyPressMsg{Code: 'R', Text: "R"})
	scr.WaitFor(t, 10*time.Second, " manual ", "refreshAuth: done")

	tm.Send(tea.KeyPressMsg{Code: 'q', Text: "q"})
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
}
