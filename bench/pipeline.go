package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/kalamtest/mint"
	"github.com/kalamdash/kalamdash/session"
)

// Pipeline is the dashboard's data path without the UI: a session
// Manager with one connection (client, frame tap, frame pump into the
// FrameLog, live table of the subscription), its events drained as the UI
// would drain them.
type Pipeline struct {
	M     *session.Manager
	Conn  *session.Conn
	SubID string // the live query whose table receives the stream
}

// OpenPipeline logs in to src with a password, subscribes to SQL with no
// initial data, and waits until the subscribe frame is in the log.
// Keepalives are off so that a stall (Source.Queue) never looks like a
// dead server.
func OpenPipeline(ctx context.Context, src *Source, compress bool, logFrames int) (*Pipeline, error) {
	return openPipeline(ctx, session.Profile{Name: "bench", URL: src.Srv.URL, User: User,
		Password: Password, NoCompress: !compress}, logFrames, SQL)
}

// OpenReplayPipeline is OpenPipeline against a Replay server, with a JWT
// (the replay server has no login endpoint and accepts any token).
func OpenReplayPipeline(ctx context.Context, r *Replay, compress bool, logFrames int) (*Pipeline, error) {
	tok, err := mint.Token(secret, User, "dba", time.Hour, time.Now())
	if err != nil {
		return nil, err
	}
	return openPipeline(ctx, session.Profile{Name: "bench", URL: r.URL, Auth: session.AuthJWT, Token: tok,
		NoCompress: !compress}, logFrames, SQL)
}

// openPipeline opens the pipeline with the dashboard's frame log: logFrames
// frames (0: the dashboard's 200 000) within its default 128 MiB, and
// subscribes to sql.
func openPipeline(ctx context.Context, prof session.Profile, logFrames int, sql string) (*Pipeline, error) {
	m := session.NewManager(session.WithFrameLogLimits(logFrames, 0),
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
	id, err := conn.Subscribe(ctx, sql, session.SubscribeOptions{NoInitialData: true})
	if err != nil {
		m.CloseAll()
		return nil, fmt.Errorf("pipeline subscribe: %w", err)
	}
	p.SubID = id
	return p, nil
}

// Changes returns how many inbound frames the log received so far (held
// or evicted: Appended counts every frame, so the count also works when
// the log is smaller than the burst) and the tap's drops.
func (p *Pipeline) Changes() (appended uint64, drops uint64) {
	return p.Conn.Log().Stats().Appended, p.Conn.Client().TapDrops()
}

// Inserts returns how many inserts the subscription's live table applied.
func (p *Pipeline) Inserts() int {
	s, _ := p.Conn.Subscription(p.SubID)
	return s.Inserts
}

// WaitDrained waits until the burst went all the way through: the log has
// seen wantFrames frames in total (or the tap dropped the rest: a slow
// pump, reported by the benchmark as drops) and the live table applied
// wantInserts inserts (every row decoded and upserted). It polls, so that
// the pumps' own 50 ms event pacing is not what is measured — every
// millisecond: the poll runs in the reader's process, so its CPU counts
// as the pipeline's, and a tighter poll would inflate that.
func (p *Pipeline) WaitDrained(ctx context.Context, wantFrames uint64, wantInserts int) error {
	for {
		got, drops := p.Changes()
		ins := p.Inserts()
		if got+drops >= wantFrames && ins >= wantInserts {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pipeline: log has %d of %d frames, table %d of %d inserts: %w", got, wantFrames, ins, wantInserts, ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
}

// Close closes the connection and the manager.
func (p *Pipeline) Close() {
	p.M.CloseAll()
}
