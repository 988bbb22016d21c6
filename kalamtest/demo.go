package kalamtest

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Demo users created by WithDemo.
const (
	DemoUser     = "demo"
	DemoPassword = "demo"
	DemoAdmin    = "admin"
	DemoAdminPW  = "admin"
)

func demoUsers() []userSpec {
	return []userSpec{
		{name: DemoUser, password: DemoPassword, role: RoleUser, email: "demo@example.com"},
		{name: DemoAdmin, password: DemoAdminPW, role: RoleDBA, email: "admin@example.com"},
	}
}

// demoSchema is what WithDemo creates: a USER table (each user sees only
// their rows), a SHARED table everyone reads, a STREAM table of
// short-lived events, and starter rows.
var demoSchema = []string{
	"CREATE NAMESPACE IF NOT EXISTS demo",
	"CREATE TABLE demo.messages (id BIGINT PRIMARY KEY, body TEXT, author TEXT, created_at TIMESTAMP) WITH (TYPE = 'USER')",
	"CREATE TABLE demo.metrics (id BIGINT PRIMARY KEY, name TEXT NOT NULL, value DOUBLE, updated_at TIMESTAMP) WITH (TYPE = 'SHARED', ACCESS_LEVEL = 'PUBLIC')",
	"CREATE STREAM TABLE demo.events (kind TEXT, detail TEXT) WITH (TTL_SECONDS = 300)",
}

var demoWords = []string{"hello", "deploy finished", "cache warmed", "retrying upstream", "token rotated",
	"queue drained", "new follower", "backup ok", "disk at 71%", "ping from edge-3"}

var demoMetrics = []string{"cpu", "mem", "rps", "p99_ms", "conns"}

func (s *Server) setupDemo() error {
	for _, q := range demoSchema {
		if _, err := s.Exec(DemoAdmin, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	for i, m := range demoMetrics {
		if _, err := s.Exec(DemoAdmin, "INSERT INTO demo.metrics (id, name, value, updated_at) VALUES ($1, $2, $3, NOW())",
			int64(i+1), m, float64(10*(i+1))); err != nil {
			return err
		}
	}
	for i := range 5 {
		if _, err := s.Exec(DemoUser, "INSERT INTO demo.messages (id, body, author, created_at) VALUES ($1, $2, $3, NOW())",
			int64(i+1), demoWords[i], DemoUser); err != nil {
			return err
		}
	}
	return nil
}

// demoWriter keeps live frames flowing: inserts, updates and deletes a few
// times per second until the server closes.
func (s *Server) demoWriter() {
	t := time.NewTicker(s.cfg.demoInterval)
	defer t.Stop()
	next, oldest := int64(6), int64(1)
	r := rand.New(rand.NewPCG(1, 2))
	for tick := 0; ; tick++ {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		var err error
		switch {
		case tick%7 == 6 && next-oldest > 5:
			_, err = s.Exec(DemoUser, "DELETE FROM demo.messages WHERE id = $1", oldest)
			oldest++
		case tick%11 == 10:
			_, err = s.Exec(DemoUser, "INSERT INTO demo.events (kind, detail) VALUES ($1, $2)",
				"heartbeat", fmt.Sprintf("tick %d", tick))
		case tick%3 == 2:
			m := r.IntN(len(demoMetrics))
			_, err = s.Exec(DemoAdmin, "UPDATE demo.metrics SET value = $1, updated_at = NOW() WHERE id = $2",
				float64(r.IntN(1000))/10, int64(m+1))
		case tick%5 == 4 && next > oldest:
			_, err = s.Exec(DemoUser, "UPDATE demo.messages SET body = $1 WHERE id = $2",
				demoWords[r.IntN(len(demoWords))]+" (edited)", next-1)
		default:
			_, err = s.Exec(DemoUser, "INSERT INTO demo.messages (id, body, author, created_at) VALUES ($1, $2, $3, NOW())",
				next, demoWords[r.IntN(len(demoWords))], DemoUser)
			next++
		}
		if err != nil {
			s.log.Warn("demo writer", "err", err)
		}
	}
}
