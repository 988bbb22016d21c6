package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/client/kalamtest"
	"github.com/kalamdash/kalamdash/session"
)

// Pipeline is the dashboard's data path without the UI: a session
// Manager with one connection (client, frame tap, frame pump into the
// FrameLog, live table of the subscription), its events drained as the UI
// would drain them.
type Pipeline struct {
	M    *session.Manager
	Conn *session.Conn
}

// OpenPipeline logs in to src with a password, subscribes to SQL with no
// initial data, and waits until the subscribe frame is in the log.
// Keepalives are off so that a stall (Source.Queue) never looks like a
// dead server.
func OpenPipeline(ctx context.Context, src *Source, compress bool, logFrames int) (*Pipeline, error) {
	return openPipeline(ctx, session.Profile{Name: "bench", URL: src.Srv.URL, User: User,
		Password: Password, NoCompress: !compress}, logFrames)
}

// OpenReplayPipeline is OpenPipeline against a Replay server, with a JWT
// (the replay server has no login endpoint and accepts any token).
func OpenReplayPipeline(ctx context.Context, r *Replay, compress bool, logFrames int) (*Pipeline, error) {
	tok, err := kalamtest.MintToken(secret, User, "dba", time.Hour, time.Now())
	if err != nil {
		return nil, err
	}
	return openPipeline(ctx, session.Profile{Name: "bench", URL: r.URL, Auth: session.AuthJWT, Token: tok,
		NoCompress: !compress}, logFrames)
}

func openPipeline(ctx context.Context, prof session.Profile, logFrames int) (*Pipeline, error) {
	m := session.NewManager(session.WithFrameLogLimits(logFrames, 1<<40),
		session.WithClientOptions(client.WithKeepalive(0, 0)))
	p := &Pipeline{M: m}
	go func() {
		for range m.Events() {
		}
	}()
	conn, err := m.Open(ctx, prof)
	if err != nil {
		m.CloseAll()
		return nil, fmt.Errorf("pipeline open: %w", err)
	}
	p.Conn = conn
	if _, err := conn.Subscribe(ctx, SQL, session.SubscribeOptions{NoInitialData: true}); err != nil {
		m.CloseAll()
		return nil, fmt.Errorf("pipeline subscribe: %w", err)
	}
	return p, nil
}

// Changes returns how many inbound change frames the log received so far
// (held or evicted: Appended counts every frame, so the count also works
// when the log is smaller than the burst) and the tap's drops.
func (p *Pipeline) Changes() (appended uint64, drops uint64) {
	return p.Conn.Log().Stats().Appended, p.Conn.Client().TapDrops()
}

// WaitAppended waits until the log has seen want frames in total, or the
// tap has dropped the rest (a slow pump: reported by the benchmark as
// drops), polling so that the pump's own 50 ms event pacing is not what is
// measured.
func (p *Pipeline) WaitAppended(ctx context.Context, want uint64) error {
	for {
		got, drops := p.Changes()
		if got+drops >= want {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pipeline: log has %d of %d frames: %w", got, want, ctx.Err())
		case <-time.After(200 * time.Microsecond):
		}
	}
}

// Close closes the connection and the manager.
func (p *Pipeline) Close() {
	p.M.CloseAll()
}
