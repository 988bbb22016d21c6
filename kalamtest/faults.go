package kalamtest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/coder/websocket"

	"github.com/kalamdash/kalamdash/client"
)

// ConnInfo describes one open WebSocket, for tests and the demo.
type ConnInfo struct {
	ID            uint64
	Remote        string
	User          string // "" until authenticated
	Role          string
	Authenticated bool
	Protocol      client.Protocol
	Compress      bool     // false with ?compress=false
	Subs          []string // subscription ids, sorted
	Drops         uint64   // notifications dropped because the queue was full
	// SubDrops counts Drops per subscription id (ids unsubscribed since
	// included).
	SubDrops    map[string]uint64
	Sent        uint64 // messages written
	ConnectedAt time.Time
	LastInbound time.Time
}

// ConnFilter selects connections for SendRaw and CloseConnsWhere; nil
// selects all.
type ConnFilter func(ConnInfo) bool

// ByUser selects the connections authenticated as user.
func ByUser(user string) ConnFilter { return func(c ConnInfo) bool { return c.User == user } }

// ByID selects one connection.
func ByID(id uint64) ConnFilter { return func(c ConnInfo) bool { return c.ID == id } }

func (wc *wsConn) info() ConnInfo {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	subs := make([]string, 0, len(wc.subs))
	for id := range wc.subs {
		subs = append(subs, id)
	}
	sort.Strings(subs)
	return ConnInfo{ID: wc.id, Remote: wc.remote, User: wc.userID, Role: wc.role, Authenticated: wc.authed,
		Protocol: wc.protocol, Compress: wc.compress, Subs: subs, Drops: wc.drops, SubDrops: maps.Clone(wc.subDrops), Sent: wc.sent,
		ConnectedAt: wc.connectedAt, LastInbound: wc.lastInbound}
}

// Conns lists the open WebSockets, ordered by id.
func (s *Server) Conns() []ConnInfo {
	cs := s.connList()
	out := make([]ConnInfo, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.info())
	}
	slices.SortFunc(out, func(a, b ConnInfo) int { return int(a.ID) - int(b.ID) })
	return out
}

func (s *Server) selectConns(f ConnFilter) []*wsConn {
	var out []*wsConn
	for _, c := range s.connList() {
		if f == nil || f(c.info()) {
			out = append(out, c)
		}
	}
	return out
}

// DropAll cuts every WebSocket at the TCP level, without a close frame,
// as a crashed server or a broken network would. It returns how many.
func (s *Server) DropAll() int {
	cs := s.connList()
	for _, c := range cs {
		c.cancel()
		_ = c.c.CloseNow()
	}
	return len(cs)
}

// Stall stops the server reading and writing (WebSocket frames and HTTP
// requests) for d of real time; clients see a silent peer. Stall(0) ends a
// stall early. Server.Exec keeps working, so tests can fill notification
// queues while the sockets are stalled.
func (s *Server) Stall(d time.Duration) {
	s.stallUntil.Store(time.Now().Add(d).UnixNano())
}

// RefuseFor makes the listener reset every new TCP connection for d of
// real time. Open connections are not touched.
func (s *Server) RefuseFor(d time.Duration) {
	s.refuseUntil.Store(time.Now().Add(d).UnixNano())
}

// ExpireTokens makes every token issued so far count as expired: /sql
// answers TOKEN_EXPIRED, refresh and the WebSocket answer "Invalid
// credentials". Tokens issued afterwards are valid. Open sockets stay
// authenticated, as upstream. It returns how many tokens were affected.
func (s *Server) ExpireTokens() int {
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	return s.tokens.markAll(s.tokens.expired)
}

// RevokeTokens makes every token issued so far invalid (a bad signature,
// as after a secret rotation). It returns how many tokens were affected.
func (s *Server) RevokeTokens() int {
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	return s.tokens.markAll(s.tokens.revoked)
}

// SetJWTSecret changes the signing secret; tokens signed with the old one
// stop validating.
func (s *Server) SetJWTSecret(secret string) {
	s.secretMu.Lock()
	s.secretV = secret
	s.secretMu.Unlock()
}

// SetRole changes a user's role. Tokens carrying the old role are then
// refused (refresh: "Token role does not match user role").
func (s *Server) SetRole(user, role string) error { return s.users.setRole(user, role) }

// AddUser creates (or replaces) a user at run time.
func (s *Server) AddUser(name, password, role string) error {
	return s.users.add(name, password, role, "")
}

// RemoveUser soft-deletes a user: its tokens stop validating ("User no
// longer valid" on refresh).
func (s *Server) RemoveUser(name string) error { return s.users.remove(name) }

// SendRaw queues a frame of any kind to the selected connections, behind
// what is already queued: OpText or OpBinary with any payload (invalid
// JSON, corrupt gzip…), OpPing, or OpClose (payload = 2-byte code +
// reason). It returns how many connections it was queued on.
func (s *Server) SendRaw(f ConnFilter, op client.Opcode, payload []byte) int {
	n := 0
	for _, c := range s.selectConns(f) {
		c.mu.Lock()
		if c.pushLocked(outItem{kind: outRaw, op: op, payload: slices.Clone(payload)}) {
			n++
		}
		c.mu.Unlock()
	}
	return n
}

// CloseConns closes every WebSocket with a close frame of the given code
// and reason (after frames already queued). It returns how many.
func (s *Server) CloseConns(code int, reason string) int {
	return s.CloseConnsWhere(nil, code, reason)
}

// CloseConnsWhere closes the selected WebSockets with code and reason.
func (s *Server) CloseConnsWhere(f ConnFilter, code int, reason string) int {
	cs := s.selectConns(f)
	for _, c := range cs {
		c.close(websocket.StatusCode(code), reason)
	}
	return len(cs)
}

// closeAllConns sends code/reason to every socket and, when wait is set,
// gives them a moment to finish the close handshake before cutting them.
func (s *Server) closeAllConns(code int, reason string, wait bool) {
	cs := s.connList()
	for _, c := range cs {
		c.close(websocket.StatusCode(code), reason)
	}
	if !wait {
		return
	}
	deadline := time.NewTimer(time.Second)
	defer deadline.Stop()
	for _, c := range cs {
		select {
		case <-c.done:
		case <-deadline.C:
			for _, c := range cs {
				c.cancel()
				_ = c.c.CloseNow()
			}
			return
		}
	}
}

// NotificationDrops returns the total notifications dropped on open
// connections because their queue was full.
func (s *Server) NotificationDrops() uint64 {
	var n uint64
	for _, c := range s.Conns() {
		n += c.Drops
	}
	return n
}

// SubscriptionDrops returns the notifications dropped for user's
// subscription id on open connections because their queue was full.
func (s *Server) SubscriptionDrops(user, id string) uint64 {
	var n uint64
	for _, c := range s.Conns() {
		if c.User == user {
			n += c.SubDrops[id]
		}
	}
	return n
}

// Result is one statement result of Server.Exec.
type Result struct {
	Schema   []client.SchemaField
	Rows     [][]any // KalamDB JSON encoding: BIGINT as string, TIMESTAMP µs…
	RowCount int
	Message  string
}

// Exec runs SQL as the named user, bypassing HTTP and tokens: tests and
// the demo use it to write rows that live subscriptions then see.
func (s *Server) Exec(userName, sql string, params ...any) ([]Result, error) {
	u, ok := s.users.get(userName)
	if !ok {
		return nil, fmt.Errorf("kalamtest: Exec: no user %q (add it with WithUser or AddUser)", userName)
	}
	res, err := s.db.exec(context.Background(), u, sql, params...)
	if err != nil {
		return nil, err
	}
	out := make([]Result, len(res.Results))
	for i, r := range res.Results {
		out[i] = Result{Schema: r.Schema, Rows: r.Rows, RowCount: r.RowCount, Message: r.Message}
	}
	return out, nil
}

// MustExec is Exec that panics on error, for test setup.
func (s *Server) MustExec(userName, sql string, params ...any) []Result {
	r, err := s.Exec(userName, sql, params...)
	if err != nil {
		panic(err)
	}
	return r
}
