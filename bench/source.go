package bench

import (
	"fmt"
	"strings"
	"time"

	"github.com/kalamdash/kalamdash/kalamtest"
	"github.com/kalamdash/kalamdash/kalamtest/mint"
)

// Credentials of the benchmark user (a dba, so rate limits never apply).
const (
	User     = "bench"
	Password = "bench-password-1"
	secret   = "bench-jwt-secret-0123456789abcdef"
)

// insertChunk is how many rows one INSERT statement carries.
const insertChunk = 250

// Source is a kalamtest server set up to stream change events as fast as
// its sockets can write them: rate limits off, a notification queue deep
// enough to hold a whole burst, and a heartbeat timeout long enough that a
// stall (used to queue a burst before timing) never closes a socket.
//
// Queue inserts rows while the server's sockets are stalled, so every
// subscriber has the whole burst queued; Release lets it flow. The reader
// then measures how fast it drains a stream that is already there, not
// how fast sqlite inserts rows.
type Source struct {
	Srv      *kalamtest.Server
	RowBytes int // body size of each row
	nextID   int64
	body     string
}

// NewSource starts a server whose bursts may reach maxBurst events and
// whose rows carry a body of rowBytes bytes.
func NewSource(rowBytes, maxBurst int) (*Source, error) {
	srv, err := kalamtest.NewServer(
		kalamtest.WithUser(User, Password, "dba"),
		kalamtest.WithJWTSecret(secret),
		kalamtest.WithAuthRateLimit(0), kalamtest.WithMessageRateLimit(0),
		kalamtest.WithRequestRateLimit(0), kalamtest.WithQueryRateLimit(0),
		kalamtest.WithNotifyQueue(maxBurst+1024),
		kalamtest.WithHeartbeatTimeout(time.Hour), kalamtest.WithAccessTTL(time.Hour))
	if err != nil {
		return nil, fmt.Errorf("bench source: %w", err)
	}
	for _, q := range []string{
		"CREATE NAMESPACE bench",
		"CREATE TABLE bench.events (id BIGINT PRIMARY KEY, body TEXT) WITH (TYPE = 'USER')",
	} {
		if _, err := srv.Exec(User, q); err != nil {
			srv.Close()
			return nil, fmt.Errorf("bench source: %s: %w", q, err)
		}
	}
	return &Source{Srv: srv, RowBytes: rowBytes, body: kalamtest.RowText(rowBytes, 0)}, nil
}

// SQL is the live query readers subscribe to.
const SQL = "SELECT * FROM bench.events"

// Token returns an access token for User signed with the server's secret.
func (s *Source) Token() (string, error) { return benchToken() }

// benchToken is an access token for User signed with the secret every
// bench source uses (in process or not).
func benchToken() (string, error) {
	return mint.Token(secret, User, "dba", time.Hour, time.Now())
}

// Queue stalls the server's sockets and inserts n rows, so subscribers
// have n change events queued; Release starts the flow.
func (s *Source) Queue(n int) error {
	s.Srv.Stall(time.Hour)
	return s.Insert(n)
}

// Release ends the stall started by Queue.
func (s *Source) Release() { s.Srv.Stall(0) }

// Insert inserts n rows (insertChunk rows per statement); each becomes one
// change event for each subscriber.
func (s *Source) Insert(n int) error {
	for n > 0 {
		k := min(n, insertChunk)
		var sb strings.Builder
		sb.WriteString("INSERT INTO bench.events (id, body) VALUES ")
		for i := range k {
			if i > 0 {
				sb.WriteByte(',')
			}
			// Literals, not parameters: the server allows 50 parameters
			// per statement, and the body has no quotes to escape.
			s.nextID++
			fmt.Fprintf(&sb, "(%d, '%s')", s.nextID, s.body)
		}
		if _, err := s.Srv.Exec(User, sb.String()); err != nil {
			return fmt.Errorf("bench source: insert: %w", err)
		}
		n -= k
	}
	return nil
}

// Close stops the server.
func (s *Source) Close() error { return s.Srv.Close() }
