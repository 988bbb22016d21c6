package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kalamdash/kalamdash/kalamtest"
)

// serveFlags are the flags of `kalamdash serve`.
type serveFlags struct {
	addr       string
	users      []string
	secret     string
	accessTTL  time.Duration
	refreshTTL time.Duration
	demo       bool
	origins    []string
	maxConns   int // WebSocket slots (performance.max_connections)
	maxPerIP   int // 0: off, as upstream's unwired guard
	firehose   bool
	fireRate   int // changes/s; 0: as fast as the sockets take them
	fireRow    int // payload bytes per row
	queue      int // notifications queued per socket
	cluster    int // nodes of an emulated cluster; 0: one standalone server
	replLag    time.Duration
}

// newServeCmd runs kalamtest standalone until Ctrl-C.
func newServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the KalamDB-compatible test server",
		Long: `Run the KalamDB-compatible server from kalamtest until Ctrl-C.

It speaks KalamDB's HTTP API (/v1/api/auth/*, /v1/api/sql, /health) and the
/v1/ws WebSocket, over an in-memory SQL engine. Logs go to stderr, one line
per connection and request; tokens and passwords are never logged. Like
KalamDB, each socket queues at most 128 notifications and drops the rest
while it cannot write: the log says when a subscription starts losing
changes and how many it lost.

With --firehose, the table firehose.events streams generated inserts
(distinct, growing id and _seq; a payload column of --firehose-row-bytes) at
--firehose-rate changes per second while anyone subscribes — or, at rate 0,
as fast as the slowest subscriber's socket takes them, dropping nothing. Each
change is encoded once per group of subscribers that receive the same bytes.
Each subscriber's sent and dropped counts are logged when it ends and at
shutdown, and served as JSON on /kalamtest/firehose (kalamtest's own path);
dropped_socket_full says how many drops were the subscriber's (it read
slower than the rate), the rest were the server's; skipped counts changes
the server let pass when it ran over 20 ms late. At a rate, a firehose
server runs Go on one thread unless GOMAXPROCS is set: its generator and
the sockets' writers then take turns instead of waiting for each other's
threads, which on a busy machine loses far fewer changes.`,
		Example: `  kalamdash serve --demo
  kalamdash serve --addr 127.0.0.1:9090 --user alice:Secret123!:user --user ops:pw:dba --access-ttl 2m
  kalamdash serve --user load:pw --firehose --firehose-rate 50000 --firehose-row-bytes 160
      (subscribe with SELECT * FROM firehose.events; counts on /kalamtest/firehose)`,
		Args: cobra.NoArgs,
		RunE: untilInterrupted(func(ctx context.Context, cmd *cobra.Command, _ []string) error {
			if f.firehose && f.fireRate > 0 {
				firehoseThreads()
			}
			return runServe(ctx, cmd, f)
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen address")
	fl.StringArrayVar(&f.users, "user", nil, "add a user NAME:PASSWORD[:ROLE] (repeatable; roles user, service, dba, system)")
	fl.StringVar(&f.secret, "jwt-secret", "", "HS256 signing secret (random when empty)")
	fl.DurationVar(&f.accessTTL, "access-ttl", kalamtest.DefaultAccessTTL, "access-token lifetime")
	fl.DurationVar(&f.refreshTTL, "refresh-ttl", 0, "refresh-token lifetime (default 7× access-ttl)")
	fl.BoolVar(&f.demo, "demo", false, "create the demo namespace, tables and users (demo/demo, admin/admin) and keep writing rows")
	fl.StringArrayVar(&f.origins, "allowed-origin", nil, "allowed WebSocket Origin (repeatable; default: any)")
	fl.IntVar(&f.maxConns, "max-connections", kalamtest.DefaultMaxConnections, "WebSocket slots; further upgrades get 503 (KalamDB's performance.max_connections)")
	fl.BoolVar(&f.firehose, "firehose", false, "stream generated inserts into firehose.events (see --firehose-rate, --firehose-row-bytes)")
	fl.IntVar(&f.fireRate, "firehose-rate", 10000, "firehose changes per second (0: as fast as the slowest subscriber reads)")
	fl.IntVar(&f.fireRow, "firehose-row-bytes", 160, "firehose payload bytes per row")
	fl.IntVar(&f.queue, "notify-queue", kalamtest.DefaultNotifyQueue, "notifications queued per socket before they are dropped (KalamDB: 128)")
	fl.IntVar(&f.cluster, "cluster", 0, "run an emulated KalamDB cluster of N nodes, node k on the --addr port + k-1 (0: one standalone server)")
	fl.DurationVar(&f.replLag, "replication-lag", 0, "with --cluster: how long after a commit followers apply a change (and tell their subscribers)")
	fl.IntVar(&f.maxPerIP, "max-connections-per-ip", 0, "sockets per client address before 503 TOO_MANY_CONNECTIONS (0: off; loopback is exempt, X-Forwarded-For is trusted from it)")
	return cmd
}

func runServe(ctx context.Context, cmd *cobra.Command, f serveFlags) error {
	opts, err := serveOptions(f)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
	opts = append(opts, kalamtest.WithLogger(log))
	if f.cluster > 0 {
		return runServeCluster(ctx, cmd, f, opts)
	}
	srv, err := kalamtest.NewServer(opts...)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "kalamdash serve: KalamDB-compatible server on %s (WebSocket %s)\n", srv.URL, srv.WSURL())
	if f.demo {
		fmt.Fprintf(out, "demo users: %s/%s (user), %s/%s (dba); tables demo.messages (USER), demo.metrics (SHARED), demo.events (STREAM)\n",
			kalamtest.DemoUser, kalamtest.DemoPassword, kalamtest.DemoAdmin, kalamtest.DemoAdminPW)
	}
	if f.firehose {
		fmt.Fprintf(out, "firehose: %s (rate %s, %d-byte rows); counts on %s%s\n", kalamtest.FirehoseSQL,
			fireRateText(f.fireRate), f.fireRow, srv.URL, kalamtest.FirehosePath)
	}
	fmt.Fprintln(out, "press Ctrl-C to stop")
	<-ctx.Done()
	fmt.Fprintln(out, "shutting down: closing sockets with 1001")
	return srv.Close()
}

// serveOptions turns flags into server options, validating them.
func serveOptions(f serveFlags) ([]kalamtest.Option, error) {
	opts := []kalamtest.Option{kalamtest.WithAddr(f.addr)}
	for _, u := range f.users {
		name, rest, ok := strings.Cut(u, ":")
		if !ok || name == "" || rest == "" {
			return nil, fmt.Errorf("--user %q: want NAME:PASSWORD[:ROLE], e.g. alice:Secret123!:user", u)
		}
		pw, role := rest, kalamtest.RoleUser
		if i := strings.LastIndex(rest, ":"); i >= 0 && kalamtest.ValidRole(strings.ToLower(rest[i+1:])) {
			pw, role = rest[:i], strings.ToLower(rest[i+1:])
		}
		if pw == "" {
			return nil, fmt.Errorf("--user %q: empty password", name)
		}
		opts = append(opts, kalamtest.WithUser(name, pw, role))
	}
	secret := f.secret
	if secret == "" {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("generate a JWT secret: %w (pass --jwt-secret)", err)
		}
		secret = hex.EncodeToString(b)
	}
	opts = append(opts, kalamtest.WithJWTSecret(secret))
	if f.accessTTL <= 0 {
		return nil, fmt.Errorf("--access-ttl %s: must be positive", f.accessTTL)
	}
	opts = append(opts, kalamtest.WithAccessTTL(f.accessTTL))
	if f.refreshTTL < 0 {
		return nil, fmt.Errorf("--refresh-ttl %s: must be positive", f.refreshTTL)
	}
	if f.refreshTTL > 0 {
		opts = append(opts, kalamtest.WithRefreshTTL(f.refreshTTL))
	}
	if f.demo {
		opts = append(opts, kalamtest.WithDemo())
	}
	if len(f.origins) > 0 {
		opts = append(opts, kalamtest.WithAllowedOrigins(f.origins...))
	}
	if f.maxConns < 0 || f.maxPerIP < 0 {
		return nil, fmt.Errorf("--max-connections %d / --max-connections-per-ip %d: must not be negative", f.maxConns, f.maxPerIP)
	}
	switch {
	case f.cluster < 0 || f.cluster > maxClusterNodes:
		return nil, fmt.Errorf("--cluster %d: want 1 to %d nodes (0 for one standalone server)", f.cluster, maxClusterNodes)
	case f.cluster > 0 && f.firehose:
		return nil, errors.New("--firehose runs on a standalone server only; drop --cluster or --firehose")
	case f.replLag < 0:
		return nil, fmt.Errorf("--replication-lag %s: must not be negative", f.replLag)
	case f.replLag > 0 && f.cluster == 0:
		return nil, errors.New("--replication-lag needs --cluster N (a standalone server has no followers)")
	}
	if f.replLag > 0 {
		opts = append(opts, kalamtest.WithReplicationLag(f.replLag))
	}
	opts = append(opts, kalamtest.WithMaxConnections(f.maxConns), kalamtest.WithMaxConnectionsPerIP(f.maxPerIP))
	if f.queue < 0 {
		return nil, fmt.Errorf("--notify-queue %d: must not be negative", f.queue)
	}
	if f.queue > 0 { // 0: unset, KalamDB's 128
		opts = append(opts, kalamtest.WithNotifyQueue(f.queue))
	}
	if f.firehose {
		opts = append(opts, kalamtest.WithFirehose(kalamtest.FirehoseConfig{Rate: f.fireRate, RowBytes: f.fireRow}))
	}
	return opts, nil
}

// firehoseThreads runs a paced firehose server's Go code on one thread
// unless GOMAXPROCS says otherwise. (At rate 0 nothing is dropped — the
// generator waits for queue room — and two threads generate faster.)
// Measured with two `kalamdash record` readers
// at 5 000 changes/s on a 2-core machine under a load of 20: with two
// threads the server dropped ~0.2 % of the changes while both sockets had
// room, because the generator filled a queue whose writer was woken on
// the other thread and waited for the kernel to run it; with one they
// take turns (the generator yields between chunks) and nothing was
// dropped. The bare reader's lossless ramp under the same load went from
// failing at 10 000/s to 30 000–40 000/s, and the source's CPU per change
// fell from 8–14 µs to 4–6 µs (no wake-ups across threads): one thread
// generates and writes about 200 000 small changes a second to one
// subscriber, more than a reader on the same machine takes.
func firehoseThreads() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}

func fireRateText(rate int) string {
	if rate == 0 {
		return "as fast as the slowest subscriber reads"
	}
	return fmt.Sprintf("%d changes/s", rate)
}
