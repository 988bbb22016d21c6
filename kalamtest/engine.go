package kalamtest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kalamdash/kalamdash/kalamtest/internal/sqlengine"
)

// engine binds the SQL engine to the server: it supplies system.users,
// system.live and the cluster views (each as the node answering the query
// sees them), and hands committed changes, in commit order, from one
// dispatcher goroutine to every node's applier.
type engine struct {
	s      *Server
	e      *sqlengine.Engine
	remove func()

	mu    sync.Mutex
	queue []sqlengine.Change
	wake  chan struct{}
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once

	committed atomic.Int64 // _seq of the last change handed to the appliers' queues
	logIndex  atomic.Int64 // how many changes were committed (the Raft log's last index)
}

func newEngine(s *Server) (*engine, error) {
	e, err := sqlengine.New(sqlengine.Options{Now: s.cfg.clock})
	if err != nil {
		return nil, err
	}
	db := &engine{s: s, e: e, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	e.SetUserLister(s.userRecords)
	e.SetLiveLister(func(ctx context.Context) []sqlengine.LiveRecord { return nodeOf(ctx, s).liveRecords() })
	e.SetLiveKiller(func(ctx context.Context, conn, sub string) sqlengine.KillOutcome {
		return nodeOf(ctx, s).killLive(conn, sub)
	})
	e.SetClusterLister(func(ctx context.Context) sqlengine.ClusterView { return nodeOf(ctx, s).clusterView() })
	// The callback runs inside the committing goroutine and must not
	// block: queue the change and let the dispatcher do the work.
	db.remove = e.OnChange(func(ch sqlengine.Change) {
		db.mu.Lock()
		db.queue = append(db.queue, ch)
		db.committed.Store(ch.Seq)
		db.logIndex.Add(1)
		db.mu.Unlock()
		select {
		case db.wake <- struct{}{}:
		default:
		}
	})
	go db.dispatch()
	return db, nil
}

func (db *engine) dispatch() {
	defer close(db.done)
	for {
		select {
		case <-db.stop:
			return
		case <-db.wake:
		}
		for {
			db.mu.Lock()
			batch := db.queue
			db.queue = nil
			db.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			now := time.Now()
			for _, n := range db.s.cl.members() {
				n.enqueueApply(batch, now)
			}
		}
	}
}

// userAdded is called when a user is created after start (setup); the
// engine reads users through the lister, so nothing is needed today.
func (db *engine) userAdded(string) {}

func (db *engine) close() {
	db.once.Do(func() {
		db.remove()
		close(db.stop)
		<-db.done
		_ = db.e.Close()
	})
}

// exec runs SQL as a user, for the fault API and the demo writer.
func (db *engine) exec(ctx context.Context, u user, sql string, params ...any) (sqlengine.ExecResult, error) {
	res, err := db.e.Exec(ctx, sqlengine.Caller{UserID: u.id, Role: u.role}, sqlengine.Request{SQL: sql, Params: params})
	if err != nil {
		return res, err
	}
	return res, nil
}

func (s *Server) userRecords() []sqlengine.UserRecord {
	s.users.mu.Lock()
	defer s.users.mu.Unlock()
	out := make([]sqlengine.UserRecord, 0, len(s.users.users))
	for _, u := range s.users.users {
		r := sqlengine.UserRecord{UserID: u.id, PasswordHash: string(u.hash), Role: u.role, Email: u.email,
			CreatedAt: u.createdAt, UpdatedAt: u.updatedAt}
		if l := s.users.locks[u.id]; l != nil {
			r.FailedLoginAttempts = l.failures
			if !l.lockedUntil.IsZero() {
				t := l.lockedUntil
				r.LockedUntil = &t
			}
		}
		if u.deleted {
			t := u.updatedAt
			r.DeletedAt = &t
		}
		out = append(out, r)
	}
	return out
}

// liveConnID is the connection's id in system.live and in live ids.
// Upstream's is a dashless UUID, so that a live id
// ({user_id}-{connection_id}-{subscription_id}) splits at its first two
// dashes; this one has no dash either.
func (wc *wsConn) liveConnID() string { return fmt.Sprintf("conn%d", wc.id) }

// killLive is KILL LIVE QUERY's effect (sqlengine.SetLiveKiller), as
// upstream's unregister_subscription_by_id: the subscription leaves the
// connection and receives no further change, and nothing at all is sent to
// the client (no error, no close). The user's subscription count is not
// lowered, and an id the connection does not hold is not an error
// (upstream backend/crates/kalamdb-live/src/manager/queries_manager.rs,
// backend/crates/kalamdb-live/src/subscription.rs).
func (s *Server) killLive(connID, subID string) sqlengine.KillOutcome {
	for _, c := range s.connList() {
		if c.liveConnID() != connID {
			continue
		}
		c.mu.Lock()
		authed, sub := c.authed, c.subs[subID]
		c.mu.Unlock()
		if !authed {
			return sqlengine.KillUnauthenticated
		}
		if sub != nil {
			c.dropSub(subID, sub)
		}
		return sqlengine.Killed
	}
	return sqlengine.KillNoConnection
}

func (s *Server) liveRecords() []sqlengine.LiveRecord {
	var out []sqlengine.LiveRecord
	for _, c := range s.connList() {
		c.mu.Lock()
		for _, sub := range c.subs {
			out = append(out, sqlengine.LiveRecord{
				LiveID:         c.userID + "-" + c.liveConnID() + "-" + sub.id,
				ConnectionID:   c.liveConnID(),
				SubscriptionID: sub.id,
				Namespace:      sub.q.Namespace(),
				Table:          sub.q.Table(),
				UserID:         c.userID,
				Query:          sub.sql,
				Options:        optionsJSON(sub.opts),
				Status:         "active",
				CreatedAt:      sub.createdAt,
				LastUpdate:     sub.createdAt,
				Changes:        sub.changes,
				LastPingAt:     c.lastInbound,
				NodeID:         s.nodeID,
			})
		}
		c.mu.Unlock()
	}
	return out
}
