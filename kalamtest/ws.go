package kalamtest

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/kalamtest/mint"
)

// wsConn is one /v1/ws socket. The read loop (handleWS) owns parsing and
// request handling; one writer goroutine owns every write, fed by an
// ordered outbox so replies, batches, changes and the final close frame
// leave in the order they were produced.
type wsConn struct {
	s        *Server
	id       uint64
	c        *websocket.Conn
	conn     *corkedConn // c's connection: the writer corks it for a batch
	remote   string
	compress bool
	ctx      context.Context
	cancel   context.CancelFunc
	done     chan struct{} // closed when the writer has finished
	wake     chan struct{}

	mu          sync.Mutex
	authed      bool
	authStarted bool
	userID      string
	role        string
	protocol    client.Protocol
	connectedAt time.Time
	lastInbound time.Time
	subs        map[string]*subscription
	closing     bool
	queue       []outItem
	pending     int // notifications in queue
	drops       uint64
	subDrops    map[string]uint64 // subscription id → notifications dropped (kept after unsubscribe)
	dropRun     map[string]uint64 // subscription id → drops since its last delivered notification
	sent        uint64
	msgBucket   bucket
}

type outKind uint8

const (
	outMsg outKind = iota
	outRaw
	outClose
)

// outItem is one queued server → client frame.
type outItem struct {
	kind       outKind
	v          any    // message value for outMsg
	data       bool   // ack/batch/change: MessagePack on msgpack sockets
	noCompress bool   // auth_error is always plain text
	notify     bool   // counts against the notification queue cap
	subID      string // the notification's subscription
	op         client.Opcode
	payload    []byte
	code       websocket.StatusCode
	reason     string
	frame      *encodedFrame // a change encoded once for its group (fanout)
	stats      *subStats     // the change's subscription: counts sent and dropped
}

func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	if s.shutting.Load() {
		writeActixText(w, http.StatusServiceUnavailable, "Server is shutting down")
		return
	}
	if msg := s.checkOrigin(r); msg != "" {
		writeActixText(w, http.StatusForbidden, msg)
		return
	}
	// The registry slot (performance.max_connections): a full registry
	// answers like a registry that is shutting down, as upstream.
	if !s.reserveTotal() {
		s.log.Info("ws refused: registry full", "remote", r.RemoteAddr, "max", s.cfg.maxConns)
		writeActixText(w, http.StatusServiceUnavailable, "Server shutting down")
		return
	}
	defer s.releaseTotal()
	if refusal := checkHandshake(r); refusal != nil {
		s.log.Info("ws upgrade refused", "remote", r.RemoteAddr, "reason", refusal.reason)
		refusal.write(w)
		return
	}
	// Actix also speaks the drafts 7 and 8, whose framing is version 13's;
	// coder/websocket accepts only "13", so tell it that.
	r.Header.Set("Sec-WebSocket-Version", "13")
	// Exactly "Bearer " (case-sensitive, one space) means header auth, even
	// with an empty token; anything else waits for an authenticate message.
	h := r.Header.Get("Authorization")
	headerAuth := strings.HasPrefix(h, "Bearer ")
	bearer := strings.TrimPrefix(h, "Bearer ")
	compress, proto := upgradeQuery(r.URL.RawQuery, headerAuth)

	wc := &wsConn{s: s, remote: r.RemoteAddr, compress: compress, protocol: proto,
		subs: map[string]*subscription{}, done: make(chan struct{}), wake: make(chan struct{}, 1)}
	cw := &corkingResponseWriter{ResponseWriter: w}
	c, err := websocket.Accept(cw, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // origins are checked above, with upstream's rules
		OnPingReceived: func(context.Context, []byte) bool {
			wc.touch()
			return true
		},
		OnPongReceived: func(context.Context, []byte) { wc.touch() },
	})
	if err != nil {
		s.log.Info("ws upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	// Above the 1 MiB protocol limit so oversize text gets the
	// MESSAGE_TOO_LARGE frame instead of a 1009 close from the library.
	c.SetReadLimit(int64(s.cfg.maxMessage) + 16<<20)
	wc.c, wc.conn = c, cw.conn
	wc.ctx, wc.cancel = context.WithCancel(s.ctx)
	now := s.now()
	wc.connectedAt, wc.lastInbound = now, now

	s.mu.Lock()
	if s.shutting.Load() {
		// Close began while this upgrade completed, and it neither saw
		// this socket nor waits for this handler: drop it at once rather
		// than wait up to 5 s for the peer to answer a close frame.
		s.mu.Unlock()
		_ = c.CloseNow()
		return
	}
	s.nextConn++
	wc.id = s.nextConn
	s.conns[wc.id] = wc
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	s.log.Info("ws open", "conn", wc.id, "remote", wc.remote, "compress", compress, "header_auth", headerAuth)
	go wc.writer()

	if headerAuth {
		// Header auth: validate before reading any client frame and send
		// auth_success unprompted.
		wc.authenticate(bearer, proto, authKey(r))
	}
	clientClose := wc.readLoop(authKey(r))

	wc.cleanup()
	<-wc.done
	wc.mu.Lock()
	user, drops := wc.userID, wc.drops
	wc.mu.Unlock()
	s.log.Info("ws close", "conn", wc.id, "user", user, "drops", drops, "client_close", clientClose)
}

// upgradeQuery reads the upgrade's query string as upstream does, raw
// (nothing is percent-decoded): the exact pair compress=false, key and
// value in any case, turns compression off; with header auth only,
// serialization=msgpack and compression=none set the protocol, their keys
// matched exactly and their values in any case; everything else is
// ignored (jamals86/KalamDB: backend/crates/kalamdb-api/src/ws/protocol.rs).
func upgradeQuery(raw string, headerAuth bool) (compress bool, proto client.Protocol) {
	compress, proto = true, client.Protocol{Serialization: "json", Compression: "gzip"}
	for _, pair := range strings.Split(raw, "&") {
		if strings.EqualFold(pair, "compress=false") {
			compress = false
		}
		key, value, ok := strings.Cut(pair, "=")
		if !ok || !headerAuth {
			continue
		}
		switch {
		case key == "serialization" && strings.EqualFold(value, "msgpack"):
			proto.Serialization = "msgpack"
		case key == "compression" && strings.EqualFold(value, "none"):
			proto.Compression = "none"
		}
	}
	return compress, proto
}

// checkOrigin applies section 3.2's origin policy; it returns the 403
// body, or "" when allowed.
func (s *Server) checkOrigin(r *http.Request) string {
	list := s.cfg.allowedOrigins
	if len(list) == 0 || slices.Contains(list, "*") {
		return ""
	}
	// Upstream reads the header as visible ASCII (HeaderValue::to_str); a
	// value with other bytes is taken for no Origin at all
	// (jamals86/KalamDB: backend/crates/kalamdb-api/src/ws/protocol.rs).
	origin := r.Header.Get("Origin")
	if !visibleASCII(origin) {
		origin = ""
	}
	if origin == "" {
		if s.cfg.strictOrigin {
			return "Origin header required"
		}
		return ""
	}
	if slices.Contains(list, origin) {
		return ""
	}
	return "Origin not allowed"
}

// visibleASCII reports whether v holds only what http's HeaderValue::to_str
// accepts: tab and the printable ASCII characters.
func visibleASCII(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c != '\t' && (c < ' ' || c > '~') {
			return false
		}
	}
	return true
}

func (wc *wsConn) touch() {
	now := wc.s.now()
	wc.mu.Lock()
	wc.lastInbound = now
	wc.mu.Unlock()
}

// check runs on every checker tick: auth timeout, then heartbeat timeout.
func (wc *wsConn) check(now time.Time) {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	if wc.closing {
		return
	}
	if !wc.authed && !wc.authStarted && now.Sub(wc.connectedAt) > wc.s.cfg.authTimeout {
		// The text says 3 seconds whatever the configured timeout, as upstream.
		wc.pushLocked(outItem{kind: outMsg, noCompress: true, v: client.AuthErrorMessage{
			Type: client.TypeAuthError, Message: "Authentication timeout - no auth message received within 3 seconds"}})
		wc.closeLocked(websocket.StatusPolicyViolation, "Authentication timeout")
		return
	}
	if now.Sub(wc.lastInbound) > wc.s.cfg.heartbeatTimeout {
		wc.closeLocked(websocket.StatusNormalClosure, "Heartbeat timeout")
	}
}

// readLoop serves the client's messages until the socket ends and returns
// the close code the client sent, or -1 when it sent none (a cut socket,
// or one the server closed).
func (wc *wsConn) readLoop(ip string) (clientClose int) {
	for {
		typ, data, err := wc.c.Read(wc.ctx)
		if err != nil {
			return int(websocket.CloseStatus(err))
		}
		wc.s.waitStall(wc.ctx)
		wc.touch()
		if typ == websocket.MessageBinary {
			wc.handleBinary(data, ip)
			continue
		}
		if len(data) > wc.s.cfg.maxMessage {
			wc.sendError("protocol", "MESSAGE_TOO_LARGE", "Message exceeds maximum size of "+itoa(wc.s.cfg.maxMessage)+" bytes")
			continue
		}
		if !wc.allowMessage() {
			wc.sendError("rate_limit", "RATE_LIMIT_EXCEEDED", "Too many messages")
			continue
		}
		m, msg := parseClientMessage(data)
		if msg != "" {
			wc.close(websocket.StatusInternalError, "Invalid message: "+msg)
			continue
		}
		wc.handle(m, ip)
	}
}

func (wc *wsConn) allowMessage() bool {
	now := wc.s.now()
	wc.mu.Lock()
	defer wc.mu.Unlock()
	return wc.msgBucket.take(now, wc.s.cfg.msgRate)
}

func (wc *wsConn) handleBinary(data []byte, ip string) {
	wc.mu.Lock()
	msgpack := wc.protocol.Serialization == "msgpack"
	wc.mu.Unlock()
	if !msgpack {
		wc.sendError("protocol", "UNSUPPORTED_DATA", "Binary not supported")
		return
	}
	js, errText := msgpackToJSON(data)
	if errText != "" {
		wc.sendError("protocol", "UNSUPPORTED_DATA", errText)
		return
	}
	m, msg := parseClientMessage(js)
	if msg != "" {
		wc.sendError("protocol", "UNSUPPORTED_DATA", "Invalid MessagePack: "+msg)
		return
	}
	wc.handle(m, ip)
}

// handle dispatches one parsed client message.
func (wc *wsConn) handle(m inMsg, ip string) {
	wc.mu.Lock()
	authed := wc.authed
	wc.mu.Unlock()
	switch m.typ {
	case client.TypePing:
		// Only refreshes the heartbeat (done by the read loop).
	case client.TypeAuthenticate:
		if authed {
			// Not re-validated: echo the stored identity (S19).
			wc.mu.Lock()
			msg := client.AuthSuccessMessage{Type: client.TypeAuthSuccess, User: wc.userID, Role: wc.role, Protocol: wc.protocol}
			wc.pushLocked(outItem{kind: outMsg, v: msg})
			wc.mu.Unlock()
			return
		}
		wc.authenticate(m.token, m.protocol, ip)
	case client.TypeSubscribe:
		if !authed {
			wc.sendError("subscribe", "AUTH_REQUIRED", "Authentication required before subscribing")
			return
		}
		wc.subscribe(m)
	case client.TypeNextBatch:
		if authed {
			wc.nextBatch(m)
		}
	case client.TypeUnsubscribe:
		if authed {
			wc.unsubscribe(m.subID)
		}
	}
}

// authenticate validates an access token for this socket (both paths).
func (wc *wsConn) authenticate(tok string, proto client.Protocol, ip string) {
	wc.mu.Lock()
	wc.authStarted = true
	wc.mu.Unlock()
	fail := func(text string) {
		wc.mu.Lock()
		defer wc.mu.Unlock()
		wc.pushLocked(outItem{kind: outMsg, noCompress: true, v: client.AuthErrorMessage{Type: client.TypeAuthError, Message: text}})
		wc.closeLocked(websocket.StatusPolicyViolation, "Authentication failed")
	}
	if !wc.s.authLim.allow(ip, wc.s.now()) {
		fail("Too many authentication attempts. Please retry shortly.")
		return
	}
	_, u, st, _ := wc.s.validate(tok, mint.TokenAccess)
	if st != tokOK {
		fail("Invalid credentials")
		return
	}
	wc.mu.Lock()
	defer wc.mu.Unlock()
	wc.authed, wc.userID, wc.role, wc.protocol = true, u.id, u.role, proto
	wc.pushLocked(outItem{kind: outMsg, v: client.AuthSuccessMessage{Type: client.TypeAuthSuccess, User: u.id, Role: u.role, Protocol: proto}})
	wc.s.log.Info("ws auth", "conn", wc.id, "user", u.id, "role", u.role, "serialization", proto.Serialization)
}

func (wc *wsConn) sendError(subID, code, msg string) {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	wc.pushLocked(outItem{kind: outMsg, v: client.ErrorMessage{Type: client.TypeError, SubscriptionID: subID, Code: code, Message: msg}})
}

// close queues a close frame after everything already queued.
func (wc *wsConn) close(code websocket.StatusCode, reason string) {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	wc.closeLocked(code, reason)
}

func (wc *wsConn) closeLocked(code websocket.StatusCode, reason string) {
	if wc.closing {
		return
	}
	wc.pushLocked(outItem{kind: outClose, code: code, reason: closeReason(reason)})
	wc.closing = true
}

// pushLocked appends to the outbox. Notifications beyond the queue cap are
// dropped and counted, like upstream's bounded channel (3.10 item 7).
func (wc *wsConn) pushLocked(it outItem) bool {
	if wc.closing {
		return false
	}
	if it.notify {
		if wc.pending >= wc.s.cfg.notifyQueue {
			wc.dropLocked(it.subID)
			if it.stats != nil {
				it.stats.dropped.Add(1)
				if wc.conn.full.Load() {
					it.stats.droppedFull.Add(1)
				}
			}
			return false
		}
		wc.pending++
		wc.endDropRunLocked(it.subID, "notification queue has room again")
	}
	wc.queue = append(wc.queue, it)
	select {
	case wc.wake <- struct{}{}:
	default:
	}
	return true
}

// dropLocked counts a notification dropped because the queue was full.
// Upstream logs every drop ("Notification channel full for
// subscription_id=…, dropping notification", kalamdb-live notification.rs);
// a burst drops thousands, so this logs the first drop of a run and
// pushLocked logs the run's length when the queue has room again.
func (wc *wsConn) dropLocked(subID string) {
	wc.drops++
	if wc.subDrops == nil {
		wc.subDrops, wc.dropRun = map[string]uint64{}, map[string]uint64{}
	}
	wc.subDrops[subID]++
	if wc.dropRun[subID]++; wc.dropRun[subID] == 1 {
		wc.s.log.Warn("notification queue full, dropping notifications", "conn", wc.id, "user", wc.userID,
			"subscription_id", subID, "queue", wc.s.cfg.notifyQueue)
	}
}

// endDropRunLocked logs the end of subscription id's run of drops, if one
// is going on, saying why: the queue took a notification again, or the
// subscription ended (unsubscribed, replaced, or its socket closed).
func (wc *wsConn) endDropRunLocked(id, why string) {
	n := wc.dropRun[id]
	if n == 0 {
		return
	}
	delete(wc.dropRun, id)
	wc.s.log.Warn(why, "conn", wc.id, "user", wc.userID, "subscription_id", id, "dropped", n, "dropped_total", wc.subDrops[id])
}

// writeBatch is the most items the writer takes off the outbox at once
// and writes with one system call. Taking a notification off frees its
// place in the 128-deep queue; upstream's writer task likewise moves
// notifications on into actix-ws's 32-message session channel as fast as
// it takes them (jamals86/KalamDB: backend/crates/kalamdb-api/src/ws/runtime.rs;
// actix/actix-extras: actix-ws/src/lib.rs, channel(32)).
const writeBatch = 32

// writeTimeout bounds one batch's writes: a peer that reads nothing for
// this long loses its socket.
const writeTimeout = 10 * time.Second

func (wc *wsConn) writer() {
	defer close(wc.done)
	batch := make([]outItem, 0, writeBatch)
	for {
		select {
		case <-wc.ctx.Done():
			_ = wc.c.CloseNow()
			return
		case <-wc.wake:
		}
		for {
			// Stall before taking the next batch, so a stalled socket
			// keeps its queue full and the drop count is exact.
			wc.s.waitStall(wc.ctx)
			if batch = wc.take(batch[:0]); len(batch) == 0 {
				wc.conn.full.Store(false) // caught up
				break
			}
			if !wc.writeAll(batch) {
				return
			}
			clear(batch) // let the frames go
		}
	}
}

// take moves up to writeBatch items from the outbox into batch, freeing
// their notifications' places in the queue.
func (wc *wsConn) take(batch []outItem) []outItem {
	wc.mu.Lock()
	n := min(len(wc.queue), writeBatch)
	batch = append(batch, wc.queue[:n]...)
	clear(wc.queue[:n])
	wc.queue = wc.queue[n:]
	notified := false
	for _, it := range batch {
		if it.notify {
			wc.pending--
			notified = true
		}
	}
	wc.mu.Unlock()
	if notified {
		wc.s.fire.roomMade()
	}
	return batch
}

// writeAll writes a batch with one system call (a close frame ends it);
// false means the socket is done and the writer must return.
func (wc *wsConn) writeAll(batch []outItem) bool {
	ctx, cancel := context.WithTimeout(wc.ctx, writeTimeout)
	defer cancel()
	wc.conn.cork()
	for _, it := range batch {
		if it.kind == outClose {
			_ = wc.conn.uncork(writeTimeout)
			// Close waits for the peer's close frame, which the read
			// loop receives; then everything unwinds.
			_ = wc.c.Close(it.code, it.reason)
			wc.cancel()
			return false
		}
		if err := wc.write(ctx, it); err != nil {
			wc.cancel()
			_ = wc.c.CloseNow()
			return false
		}
	}
	if err := wc.conn.uncork(writeTimeout); err != nil {
		wc.cancel()
		_ = wc.c.CloseNow()
		return false
	}
	return true
}

func (wc *wsConn) write(ctx context.Context, it outItem) error {
	if it.kind == outRaw {
		return writeRaw(ctx, wc.c, it.op, it.payload)
	}
	if it.frame != nil {
		wc.mu.Lock()
		wc.sent++
		wc.mu.Unlock()
		if err := wc.c.Write(ctx, it.frame.typ, it.frame.b); err != nil {
			return err
		}
		if it.stats != nil {
			it.stats.sent.Add(1)
		}
		return nil
	}
	wc.mu.Lock()
	msgpack := wc.protocol.Serialization == "msgpack"
	wc.mu.Unlock()
	typ, b, err := encodeFrame(it.v, it.data && msgpack, wc.compress && !it.noCompress)
	if err != nil {
		return err
	}
	wc.mu.Lock()
	wc.sent++
	wc.mu.Unlock()
	return wc.c.Write(ctx, typ, b)
}

// cleanup unregisters the connection and its subscriptions.
func (wc *wsConn) cleanup() {
	wc.mu.Lock()
	ids := make([]string, 0, len(wc.subs))
	for id := range wc.subs {
		ids = append(ids, id)
	}
	wc.mu.Unlock()
	for _, id := range ids {
		wc.unsubscribe(id)
	}
	wc.s.mu.Lock()
	delete(wc.s.conns, wc.id)
	wc.s.mu.Unlock()
	wc.cancel()
}
