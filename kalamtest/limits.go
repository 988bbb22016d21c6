package kalamtest

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// UpstreamMaxConnectionsPerIP is the default of upstream's
// rate_limit.max_connections_per_ip (100). Upstream's connection guard has
// the setting and a 503 TOO_MANY_CONNECTIONS answer for it, but nothing in
// the server ever registers a connection with the guard (its middleware
// only checks request rate and body size), so a stock KalamDB enforces no
// per-IP connection cap. kalamtest therefore applies one only when
// WithMaxConnectionsPerIP asks for it.
const UpstreamMaxConnectionsPerIP = 100

// WithMaxConnections sets the number of WebSocket slots in the live
// connections registry (performance.max_connections, default 25 000),
// counted across all clients. An upgrade beyond it is answered 503 with the
// plain-text body "Server shutting down" (upstream reuses its shutdown
// answer). As upstream, 0 refuses every upgrade: there is no "unlimited"
// value, so pass a large n instead.
func WithMaxConnections(n int) Option {
	return func(c *config) { c.maxConns = max(n, 0) }
}

// WithMaxConnectionsPerIP caps concurrently open WebSockets per client IP
// the way upstream's connection guard would if it were wired in (see
// UpstreamMaxConnectionsPerIP): the upgrade beyond the cap is answered 503
// with Retry-After: 5 and the JSON body
// {"current":n,"error":"TOO_MANY_CONNECTIONS","max":m,"message":"Too many
// connections from your IP address"}. n <= 0 (the default) means no cap, as
// a stock server.
//
// The client IP follows upstream's rules: a loopback peer is a trusted
// proxy, so its X-Forwarded-For (first entry), else X-Real-IP, names the
// client unless that value is itself localhost; and loopback clients are
// exempt from the guard. A test on 127.0.0.1 therefore sends
// X-Forwarded-For to be counted as a remote address.
func WithMaxConnectionsPerIP(n int) Option {
	return func(c *config) { c.maxConnsPerIP = max(n, 0) }
}

// connSlots counts open WebSockets: the registry's total and, when the
// per-IP guard is on, per client IP. Slots are taken before the upgrade and
// given back when the socket's handler returns.
type connSlots struct {
	mu    sync.Mutex
	total int
	perIP map[string]int
}

// reserveTotal takes a registry slot, or reports the registry full.
func (s *Server) reserveTotal() bool {
	s.slots.mu.Lock()
	defer s.slots.mu.Unlock()
	if s.slots.total >= s.cfg.maxConns {
		return false
	}
	s.slots.total++
	return true
}

func (s *Server) releaseTotal() {
	s.slots.mu.Lock()
	if s.slots.total > 0 {
		s.slots.total--
	}
	s.slots.mu.Unlock()
}

// reserveIP takes one of ip's guard slots; when none is left it returns
// false and the number currently open.
func (s *Server) reserveIP(ip string) (current int, ok bool) {
	s.slots.mu.Lock()
	defer s.slots.mu.Unlock()
	if s.slots.perIP == nil {
		s.slots.perIP = map[string]int{}
	}
	if n := s.slots.perIP[ip]; n >= s.cfg.maxConnsPerIP {
		return n, false
	}
	s.slots.perIP[ip]++
	return 0, true
}

func (s *Server) releaseIP(ip string) {
	s.slots.mu.Lock()
	defer s.slots.mu.Unlock()
	switch n := s.slots.perIP[ip]; {
	case n > 1:
		s.slots.perIP[ip] = n - 1
	case n == 1:
		delete(s.slots.perIP, ip)
	}
}

// guardWS applies the per-IP connection cap to a /v1/ws request, in the
// middleware's place (before any upgrade check). It returns the function
// that gives the slot back, or false after answering 503.
func (s *Server) guardWS(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	if s.cfg.maxConnsPerIP <= 0 {
		return func() {}, true
	}
	ip := guardIP(r)
	if ip == nil || ip.IsLoopback() {
		return func() {}, true
	}
	key := ip.String()
	current, ok := s.reserveIP(key)
	if !ok {
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, struct {
			Current int    `json:"current"`
			Error   string `json:"error"`
			Max     int    `json:"max"`
			Message string `json:"message"`
		}{current, "TOO_MANY_CONNECTIONS", s.cfg.maxConnsPerIP, "Too many connections from your IP address"})
		return nil, false
	}
	return func() { s.releaseIP(key) }, true
}

// guardIP is upstream's secure client-IP extraction: proxy headers count
// only from a trusted (loopback) peer and never when they claim localhost.
func guardIP(r *http.Request) net.IP {
	peer := net.ParseIP(clientIP(r))
	if peer == nil || !peer.IsLoopback() {
		return peer
	}
	if v := r.Header.Get("X-Forwarded-For"); v != "" {
		first, _, _ := strings.Cut(v, ",")
		if ip := proxyHeaderIP(first); ip != nil {
			return ip
		}
	}
	if ip := proxyHeaderIP(r.Header.Get("X-Real-IP")); ip != nil {
		return ip
	}
	return peer
}

// proxyHeaderIP parses one proxy-header value; localhost spellings
// (127.*, ::1, localhost) are refused as spoofing attempts.
func proxyHeaderIP(v string) net.IP {
	v = strings.TrimSpace(v)
	if v == "" || v == "::1" || strings.HasPrefix(v, "127.") || strings.EqualFold(v, "localhost") {
		return nil
	}
	return net.ParseIP(v)
}

// writeActixText answers like actix's HttpResponse::…().body("…"): the
// exact text and no Content-Type header (net/http would otherwise sniff
// one, and http.Error adds a newline).
func writeActixText(w http.ResponseWriter, status int, body string) {
	w.Header()["Content-Type"] = nil
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// banDuration is rate_limit.ban_duration_seconds.
const banDuration = 300 * time.Second

// Answers of the connection-protection middleware's per-IP check.
const (
	guardAllowed   = ""
	guardBanned    = "IP_BANNED"
	guardRateLimit = "RATE_LIMIT_EXCEEDED"
)

// ipGuard is the middleware's per-IP state, upstream's IpState: a request
// bucket, a violation count and a ban, kept together in one idleCache
// entry, so an address that sends nothing for 600 s loses all three
// (jamals86/KalamDB: backend/src/connection_guard.rs).
type ipGuard struct {
	mu     sync.Mutex // serialises check on the cached states
	rate   int        // rate_limit.max_requests_per_ip_per_sec; <= 0 disables the bucket
	states idleCache[*ipState]
}

type ipState struct {
	bucket     bucket
	violations int
	until      time.Time // banned before this instant
}

// check applies the ban, then the request rate, to one request from ip.
// Like upstream, the violation count never decays while the state lives:
// every refusal from the 10th on bans the IP for
// banDuration × min(violations/10, 6), and the request that starts a ban
// is still answered RATE_LIMIT_EXCEEDED.
func (g *ipGuard) check(ip string, now time.Time) string {
	st := g.states.getOrCreate(ip, now, func() *ipState { return &ipState{} })
	g.mu.Lock()
	defer g.mu.Unlock()
	if now.Before(st.until) {
		return guardBanned
	}
	if st.bucket.take(now, g.rate) {
		return guardAllowed
	}
	st.violations++
	if st.violations >= 10 {
		st.until = now.Add(banDuration * time.Duration(min(st.violations/10, 6)))
	}
	return guardRateLimit
}

// authKey is the client address the authentication rate limit counts
// against: upstream's secure client IP, loopback included (that limiter
// has no loopback exemption).
func authKey(r *http.Request) string {
	if ip := guardIP(r); ip != nil {
		return ip.String()
	}
	return clientIP(r)
}
