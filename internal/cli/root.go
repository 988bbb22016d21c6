// Package cli holds kalamdash's commands: the dashboard (the root command),
// serve, token, record and replay, with one set of connection flags for
// those that connect (connFlags). The dashboards run on the adapters of
// package app; the binary's main package only runs Main and exits with the
// code it returns.
package cli

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/spf13/cobra"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/internal/app"
	"github.com/kalamdash/kalamdash/internal/safetext"
	"github.com/kalamdash/kalamdash/kalamtest"
	"github.com/kalamdash/kalamdash/session"
	"github.com/kalamdash/kalamdash/theme"
	"github.com/kalamdash/kalamdash/ui"
)

// Main runs the kalamdash command line with args (without the program
// name) and returns the process exit code: 0 on success, the code a command
// chose (see record's exit codes), or 1 for any other error.
func Main(args []string) int { return run(args, os.Stderr) }

// run is Main printing its error on stderr. An error may quote a server, a
// file or a command (a refused statement, a close reason), so it is
// printed through safetext: one line, with markers for control characters.
func run(args []string, stderr io.Writer) int {
	cmd := newRootCmd()
	cmd.SetArgs(args)
	err := cmd.Execute()
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) && ee.err == nil {
		return ee.code // the command printed why
	}
	fmt.Fprintln(stderr, "kalamdash:", safetext.Line(err.Error()))
	return exitCode(err)
}

// rootFlags are the dashboard's command-line flags.
type rootFlags struct {
	conn          connFlags
	trueColor     bool
	logFile       string
	reveal        bool
	demoAccessTTL time.Duration
	demoRefresh   time.Duration
	liveRows      int
}

// autoVerifyRows is the largest live table the dashboard verifies by
// itself after a resume (one snapshot page): a resume replays no
// deletions, so that is where a view most often goes wrong.
const autoVerifyRows = session.DefaultVerifyPageSize

func newRootCmd() *cobra.Command {
	var f rootFlags
	root := &cobra.Command{
		Use:   "kalamdash",
		Short: "A terminal dashboard for live KalamDB connections",
		Long: `kalamdash opens a live dashboard on KalamDB connections: frames as they cross
the wire (gzip switched off on demand), token countdowns and rotations, live
subscription rows and a SQL console.

With no arguments it starts an embedded KalamDB-compatible demo server and
opens the login form pre-filled for it. Point it at a real server with --url
(and --user with --password-stdin, or --token), or --profile NAME from
$XDG_CONFIG_HOME/kalamdash/profiles.toml. KALAMDB_URL, KALAMDB_USER,
KALAMDB_PASSWORD and KALAMDB_TOKEN are read too.`,
		Version:       app.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDashboard(cmd, f)
		},
	}
	f.conn.register(root)
	fl := root.Flags()
	fl.Lookup("url").Usage += "; without it the embedded demo server runs"
	fl.BoolVar(&f.trueColor, "truecolor", false, "force 24-bit colour (tmux, screenshots)")
	fl.StringVar(&f.logFile, "log", "", "write a debug log to FILE (the dashboard never logs to the terminal)")
	fl.BoolVar(&f.reveal, "reveal-secrets", false, "capture tokens and passwords unredacted in the frame log (ctrl+r shows them)")
	fl.DurationVar(&f.demoAccessTTL, "demo-access-ttl", 2*time.Minute, "access-token lifetime of the embedded demo server")
	fl.DurationVar(&f.demoRefresh, "demo-refresh-ttl", 10*time.Minute, "refresh-token lifetime of the embedded demo server")
	fl.IntVar(&f.liveRows, "live-rows", session.DefaultLiveRowCap, "rows each subscription keeps; older ones are evicted (and counted)")
	root.AddCommand(newServeCmd())
	root.AddCommand(newTokenCmd())
	root.AddCommand(newRecordCmd())
	root.AddCommand(newReplayCmd())
	root.AddCommand(newVerifyCmd())
	root.AddCommand(newProxyCmd())
	return root
}

func runDashboard(cmd *cobra.Command, f rootFlags) error {
	logOut := io.Discard
	if f.logFile != "" {
		lf, err := tea.LogToFile(f.logFile, "kalamdash ")
		if err != nil {
			return fmt.Errorf("open log file: %w", err)
		}
		defer lf.Close()
		// Log lines quote servers and token commands: keep them inert
		// for whoever reads the file on a terminal.
		logOut = safetext.NewWriter(lf)
		log.SetOutput(logOut)
	} else {
		log.SetOutput(io.Discard) // the TUI owns the terminal
	}

	pf, path, err := loadProfiles()
	if err != nil {
		return err
	}
	defs, err := loginDefaults(cmd, f, pf, path)
	if err != nil {
		return err
	}

	var demo *kalamtest.Server
	if defs.URL == "" {
		demo, err = kalamtest.NewServer(kalamtest.WithDemo(), kalamtest.WithAddr("127.0.0.1:0"),
			kalamtest.WithAccessTTL(f.demoAccessTTL), kalamtest.WithRefreshTTL(f.demoRefresh),
			kalamtest.WithLogWriter(logOut))
		if err != nil {
			return fmt.Errorf("start the embedded demo server: %w", err)
		}
		defer demo.Close()
		// The demo user owns the rows the demo writer keeps changing in
		// demo.messages (a USER table), so live rows show from the first screen.
		defs.URL, defs.User, defs.Password, defs.Auth = demo.URL, kalamtest.DemoUser, kalamtest.DemoPassword, "password"
		defs.Banner = fmt.Sprintf("Demo server: an embedded KalamDB-compatible server at %s with demo tables (demo.messages, demo.metrics), "+
			"users %s/%s and %s/%s, %s access and %s refresh tokens, and a trickle of writes. Press Enter to connect. "+
			"For a real server: kalamdash --url https://host:8080 --user NAME --password-stdin, or --profile NAME.",
			demo.URL, kalamtest.DemoAdmin, kalamtest.DemoAdminPW, kalamtest.DemoUser, kalamtest.DemoPassword,
			f.demoAccessTTL, f.demoRefresh)
	}

	mgr := session.NewManager(dashboardManagerOptions(f)...)
	b := app.NewBackend(mgr, demo, pf.Profiles)
	defer b.Close()

	st := theme.FromEnv(true)
	fixed := !st.Colour // NO_COLOR: ignore the background answer
	opts := []tea.ProgramOption{}
	if f.trueColor {
		opts = append(opts, tea.WithColorProfile(colorprofile.TrueColor))
	}
	m := ui.New(b, ui.WithStyles(st, fixed), ui.WithLogin(defs))
	if _, err := tea.NewProgram(m, opts...).Run(); err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	return nil
}

// dashboardManagerOptions are the dashboard's session options: reveal,
// and the token cache that profiles opt into with cache_token = true
// (without it such a profile would ask for the password at every start).
// Without a cache directory (no HOME) those profiles simply log in each
// time.
func dashboardManagerOptions(f rootFlags) []session.ManagerOption {
	opts := []session.ManagerOption{session.WithClientOptions(client.WithRevealSecrets(f.reveal)),
		session.WithLiveRowCap(f.liveRows), session.WithAutoVerify(autoVerifyRows),
		session.WithLiveCheck(session.DefaultLiveCheck)}
	if dir, err := session.DefaultTokenCacheDir(); err == nil {
		opts = append(opts, session.WithTokenCache(session.TokenCache{Dir: dir}))
	} else {
		log.Printf("token cache off: %v", err)
	}
	return opts
}

// loginDefaults merges the profile, the environment and the flags (in that
// order of increasing priority) into the login form's pre-filled values.
func loginDefaults(cmd *cobra.Command, f rootFlags, pf *session.ProfilesFile, path string) (ui.LoginDefaults, error) {
	p, err := f.conn.resolve(cmd.InOrStdin(), pf, path)
	if err != nil {
		return ui.LoginDefaults{}, err
	}
	d := ui.LoginDefaults{
		URL: p.URL, User: p.User, Password: p.Password, Token: p.Token, Auth: string(p.Mode()),
		TokenCommand: p.TokenCommand, TokenFile: p.TokenFile,
		NoCompress: p.NoCompress, Msgpack: p.Serialization == "msgpack", Profile: p.Name,
	}
	if !p.Mode().Valid() {
		d.Auth = string(session.AuthPassword)
	}
	return d, nil
}
