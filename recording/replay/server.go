// Package replay plays the server side of a kalamdash recording on a
// loopback address (`kalamdash replay FILE --serve`), so a real client can
// reproduce what the recorded client saw. Package recording is the file
// format; this package is the only one of the two that serves anything.
package replay

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/kalamtest/mint"
	"github.com/kalamdash/kalamdash/recording"
	"github.com/kalamdash/kalamdash/redact"
)

// Option configures a Server.
type Option func(*options)

type options struct {
	addr string
	log  io.Writer
	wait time.Duration
	pace bool
}

// WithAddr sets the listen address (default "127.0.0.1:0", a free
// loopback port).
func WithAddr(addr string) Option { return func(o *options) { o.addr = addr } }

// WithLog writes one line per replayed step to w (default: nowhere).
func WithLog(w io.Writer) Option { return func(o *options) { o.log = w } }

// WithWait sets how long the server waits for the client to send a
// message the recording shows it sent before carrying on regardless
// (default 10 s).
func WithWait(d time.Duration) Option { return func(o *options) { o.wait = d } }

// WithPace keeps the recorded gaps between server frames (each
// capped at 5 s) instead of sending them as fast as the client reads.
func WithPace(pace bool) Option { return func(o *options) { o.pace = pace } }

// replaySecret signs the tokens the replay server mints in place of
// redacted or expired ones. They are only good for this server.
const replaySecret = "kalamdash-replay"

// maxPaceGap caps one recorded gap when pacing.
const maxPaceGap = 5 * time.Second

// Server plays the server side of a recording on a loopback
// address, so a real client can reproduce what the recorded client saw.
//
// HTTP: each request is answered with the next recorded response of the
// same kind ("POST /v1/api/sql", …; the last one repeats once they run
// out). Tokens in login/refresh answers that were redacted, or have
// expired since, are replaced by freshly minted ones (valid for this
// server only), so the client can proceed.
//
// WebSocket: the n-th upgrade to /v1/ws replays the n-th recorded socket.
// Server frames are sent in recorded order with their original opcode and
// bytes (gzip and MessagePack included). Where the recording shows the
// client sending a message of type T before the next server frame, the
// server waits (WithWait) for the client to send a T first — so a
// subscription_ack never beats the subscribe it answers. Keepalives are
// not scripted: the WebSocket library answers pings, and recorded
// `ping` messages are skipped. A recorded server close is replayed with
// its code and reason; a socket that just broke in the recording is cut.
// Sockets beyond the recorded ones are closed with 1011.
type Server struct {
	// URL is the base URL (http://127.0.0.1:PORT) to point a client at.
	URL string

	o       options
	rec     *recording.Recording
	ln      net.Listener
	srv     *http.Server
	sockets [][]client.Frame // frames per recorded socket, in order

	mu       sync.Mutex
	httpNext map[string]int
	accepted int
	finished int
	done     chan struct{}
	doneOnce sync.Once
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// NewServer starts serving rec.
func NewServer(rec *recording.Recording, opts ...Option) (*Server, error) {
	o := options{addr: "127.0.0.1:0", log: io.Discard, wait: 10 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return nil, fmt.Errorf("replay: listen on %s: %w", o.addr, err)
	}
	s := &Server{URL: "http://" + ln.Addr().String(), o: o, rec: rec, ln: ln,
		httpNext: map[string]int{}, done: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	idx := map[uint64]int{}
	for _, f := range rec.Frames {
		if f.Opcode == client.OpHTTP || f.ConnID == 0 {
			continue
		}
		i, ok := idx[f.ConnID]
		if !ok {
			i = len(s.sockets)
			idx[f.ConnID] = i
			s.sockets = append(s.sockets, nil)
		}
		s.sockets[i] = append(s.sockets[i], f)
	}
	if len(s.sockets) == 0 {
		close(s.done)
	}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serveHTTP), ReadHeaderTimeout: 10 * time.Second}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Sockets returns how many WebSocket connections the recording holds.
func (s *Server) Sockets() int { return len(s.sockets) }

// Done is closed once every recorded socket has been replayed: all its
// server frames sent (the last socket may stay open for the client).
func (s *Server) Done() <-chan struct{} { return s.done }

// Close stops the server and cuts every connection.
func (s *Server) Close() error {
	s.cancel()
	err := s.srv.Close()
	s.wg.Wait()
	return err
}

func (s *Server) logf(format string, args ...any) {
	fmt.Fprintf(s.o.log, "replay: "+format+"\n", args...)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v1/ws" {
		s.serveWS(w, r)
		return
	}
	kind := r.Method + " " + r.URL.Path
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
	resp := s.nextHTTP(kind)
	if resp == nil {
		s.logf("HTTP %s: not in the recording → 404", kind)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "not_recorded",
			"message": "kalamdash replay: the recording has no " + kind + " exchange"})
		return
	}
	_, _, headers, body := recording.ParseHTTP(resp.Wire)
	for _, h := range headers {
		switch strings.ToLower(h.Name) {
		case "content-type", "www-authenticate", "retry-after":
			w.Header().Add(h.Name, h.Value)
		}
	}
	body = reviveTokens(body, time.Now())
	s.logf("HTTP %s → %d (%d bytes)", kind, resp.Status, len(body))
	w.WriteHeader(resp.Status)
	_, _ = w.Write(body)
}

// nextHTTP returns the recorded response for the next request of kind.
func (s *Server) nextHTTP(kind string) *client.Frame {
	var all []*client.Frame
	for i := range s.rec.Frames {
		f := &s.rec.Frames[i]
		if f.Opcode == client.OpHTTP && f.Direction == client.Inbound && f.Type == kind && f.Status != 0 {
			all = append(all, f)
		}
	}
	if len(all) == 0 {
		return nil
	}
	s.mu.Lock()
	i := s.httpNext[kind]
	s.httpNext[kind] = i + 1
	s.mu.Unlock()
	return all[min(i, len(all)-1)]
}

// reviveTokens replaces access and refresh tokens that are redacted or
// expired in a login/refresh body with tokens minted for now, and moves
// the expiry fields along. Other bodies come back unchanged.
func reviveTokens(body []byte, now time.Time) []byte {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return body
	}
	user, role := "replay", "user"
	if u, ok := m["user"].(map[string]any); ok {
		if id, ok := u["id"].(string); ok && id != "" {
			user = id
		}
		if r, ok := u["role"].(string); ok && r != "" {
			role = r
		}
	}
	changed := false
	for _, k := range []struct {
		token, expiry string
		ttl           time.Duration
	}{{"access_token", "expires_at", time.Hour}, {"refresh_token", "refresh_expires_at", 24 * time.Hour}} {
		tok, ok := m[k.token].(string)
		if !ok || (tok != redact.Marker && !expired(tok, now)) {
			continue
		}
		fresh, err := mint.Token(replaySecret, user, role, k.ttl, now)
		if err != nil {
			continue
		}
		m[k.token] = fresh
		if _, ok := m[k.expiry]; ok {
			m[k.expiry] = now.Add(k.ttl).UTC().Format(time.RFC3339)
		}
		changed = true
	}
	if !changed {
		return body
	}
	out, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return out
}

// expired reports whether tok is a JWT whose exp has passed.
func expired(tok string, now time.Time) bool {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return false
	}
	var claims struct {
		Exp float64 `json:"exp"`
	}
	if json.Unmarshal(raw, &claims) != nil || claims.Exp == 0 {
		return false
	}
	return time.Unix(int64(claims.Exp), 0).Before(now)
}

// serveWS replays the next recorded socket.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := s.accepted
	s.accepted++
	s.mu.Unlock()
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true,
		CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		s.logf("socket %d: upgrade failed: %v", n+1, err)
		return
	}
	ws.SetReadLimit(64 << 20)
	if n >= len(s.sockets) {
		s.logf("socket %d: the recording has only %d socket(s) → close 1011", n+1, len(s.sockets))
		_ = ws.Close(websocket.StatusInternalError, fmt.Sprintf("kalamdash replay: the recording has only %d socket(s)", len(s.sockets)))
		return
	}
	last := n == len(s.sockets)-1
	s.play(ws, n, s.sockets[n], last)
}

// play runs one recorded socket's script on ws.
func (s *Server) play(ws *websocket.Conn, n int, script []client.Frame, last bool) {
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	finish := sync.OnceFunc(s.finish)
	defer finish()

	// A reader goroutine keeps control frames flowing (pongs to the
	// client's keepalive pings) and hands data messages over by type.
	got := make(chan string, 64)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer close(got)
		for {
			_, data, err := ws.Read(ctx)
			if err != nil {
				return
			}
			var m struct {
				Type string `json:"type"`
			}
			_ = json.Unmarshal(data, &m)
			select {
			case got <- m.Type:
			case <-ctx.Done():
				return
			}
		}
	}()

	var prev time.Time
	for _, f := range script {
		switch {
		case f.Direction == client.Outbound && (f.Opcode == client.OpText || f.Opcode == client.OpBinary):
			if f.Type == "ping" {
				continue
			}
			if !s.awaitClient(ctx, got, f.Type) {
				s.logf("socket %d: client did not send %q within %s; carrying on", n+1, f.Type, s.o.wait)
			}
		case f.Direction == client.Outbound && f.Opcode == client.OpClose:
			s.logf("socket %d: the recorded client closed (%d %q); waiting for this one", n+1, f.CloseCode, f.CloseReason)
			finish() // nothing more to send
			select {
			case <-readDone:
			case <-time.After(s.o.wait):
			case <-ctx.Done():
			}
			_ = ws.CloseNow()
			return
		case f.Direction == client.Inbound && (f.Opcode == client.OpText || f.Opcode == client.OpBinary):
			if s.o.pace && !prev.IsZero() {
				if gap := min(f.Time.Sub(prev), maxPaceGap); gap > 0 {
					select {
					case <-time.After(gap):
					case <-ctx.Done():
						return
					}
				}
			}
			prev = f.Time
			typ := websocket.MessageText
			if f.Opcode == client.OpBinary {
				typ = websocket.MessageBinary
			}
			if err := ws.Write(ctx, typ, f.Wire); err != nil {
				s.logf("socket %d: write %s: %v", n+1, f.Type, err)
				return
			}
			s.logf("socket %d: sent %s %s (%d bytes)", n+1, f.Opcode, f.Type, len(f.Wire))
		case f.Direction == client.Inbound && f.Opcode == client.OpClose:
			s.logf("socket %d: close %d %q", n+1, f.CloseCode, f.CloseReason)
			if f.CloseCode >= 1000 && f.CloseCode != 1005 && f.CloseCode != 1006 && f.CloseCode != 1015 {
				_ = ws.Close(websocket.StatusCode(f.CloseCode), f.CloseReason)
			} else {
				_ = ws.CloseNow()
			}
			return
		}
	}
	if !last {
		// The recorded socket ended without a close frame: it broke.
		s.logf("socket %d: end of the recorded socket without a close → cut the connection", n+1)
		_ = ws.CloseNow()
		return
	}
	s.logf("socket %d: end of the recording; the socket stays open", n+1)
	finish() // the script is done even though the socket lives on
	select {
	case <-readDone:
	case <-ctx.Done():
	}
	_ = ws.CloseNow()
}

// awaitClient waits until the client sends a message of type typ.
func (s *Server) awaitClient(ctx context.Context, got <-chan string, typ string) bool {
	t := time.NewTimer(s.o.wait)
	defer t.Stop()
	for {
		select {
		case g, ok := <-got:
			if !ok {
				return false
			}
			if g == typ || typ == "" {
				return true
			}
		case <-t.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// finish counts a socket's script as played (once per socket); Done
// closes after the last.
func (s *Server) finish() {
	s.mu.Lock()
	s.finished++
	all := s.finished >= len(s.sockets)
	s.mu.Unlock()
	if all {
		s.doneOnce.Do(func() { close(s.done) })
	}
}
