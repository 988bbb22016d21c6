package cli

import (
	"fmt"
	"io"
	"log"
	"path/filepath"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/kalamdash/kalamdash/internal/app"
	"github.com/kalamdash/kalamdash/recording"
	"github.com/kalamdash/kalamdash/theme"
	"github.com/kalamdash/kalamdash/ui"
)

// runReplayDashboard opens the dashboard on rec until the user quits.
func runReplayDashboard(path string, rec *recording.Recording) error {
	log.SetOutput(io.Discard) // the TUI owns the terminal
	b := app.NewRecordingBackend(filepath.Base(path), rec)
	st := theme.FromEnv(true)
	defs := ui.LoginDefaults{URL: rec.Header.ServerURL, User: rec.Header.Options.User, Auth: "none",
		Banner: fmt.Sprintf("Recording %s: %d frames from %s, recorded %s. Offline and read-only: press Enter to open it "+
			"in the inspector (filters work as live); nothing is sent anywhere. To reproduce it against a client, "+
			"quit and run kalamdash replay %s --serve.", filepath.Base(path), len(rec.Frames), rec.Header.ServerURL,
			rec.Header.StartedAt.Format(time.RFC3339), path)}
	m := ui.New(b, ui.WithStyles(st, !st.Colour), ui.WithLogin(defs))
	if _, err := tea.NewProgram(m).Run(); err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	return nil
}
