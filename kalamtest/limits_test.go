package kalamtest_test

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kalamdash/kalamdash/kalamtest"
)

// fromIP makes a loopback dial count as ip: upstream trusts proxy headers
// from loopback peers and exempts loopback clients from its guard.
func fromIP(ip string) http.Header { return http.Header{"X-Forwarded-For": {ip}} }

// openN opens n sockets with hdr and fails the test if one is refused.
func (s *ktServer) openN(t *testing.T, n int, hdr http.Header) []*wsc {
	t.Helper()
	out := make([]*wsc, 0, n)
	for i := range n {
		w, resp, err := s.dial(t, "", hdr)
		if err != nil {
			t.Fatalf("socket %d of %d refused: %v (status %v)", i+1, n, err, statusOf(resp))
		}
		out = append(out, w)
	}
	return out
}

func statusOf(resp *http.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}

// refused dials once and returns the refusal, failing if the upgrade works.
func (s *ktServer) refused(t *testing.T, hdr http.Header) (http.Header, string) {
	t.Helper()
	_, resp, err := s.dial(t, "", hdr)
	if err == nil {
		t.Fatal("upgrade beyond the cap succeeded")
	}
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("want 503, got status %d (%v)", statusOf(resp), err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.Header, string(b)
}

// eventuallyDials polls until an upgrade succeeds: the server gives a slot
// back once the closed socket's handler has returned.
func (s *ktServer) eventuallyDials(t *testing.T, hdr http.Header) {
	t.Helper()
	deadline := time.Now().Add(ktWait)
	for {
		_, resp, err := s.dial(t, "", hdr)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no slot came back after a socket closed: %v (status %d)", err, statusOf(resp))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMaxConnectionsPerIPRefusesTheNextUpgrade(t *testing.T) {
	s := newKT(t, kalamtest.WithMaxConnectionsPerIP(kalamtest.UpstreamMaxConnectionsPerIP))
	remote := fromIP("203.0.113.7")
	open := s.openN(t, kalamtest.UpstreamMaxConnectionsPerIP, remote)

	h, body := s.refused(t, remote)
	const want = `{"current":100,"error":"TOO_MANY_CONNECTIONS","max":100,"message":"Too many connections from your IP address"}`
	if body != want {
		t.Errorf("body\n got %s\nwant %s", body, want)
	}
	if h.Get("Retry-After") != "5" || h.Get("Content-Type") != "application/json" {
		t.Errorf("headers Retry-After=%q Content-Type=%q, want 5 and application/json",
			h.Get("Retry-After"), h.Get("Content-Type"))
	}

	// The cap is per address: another client, a loopback client (exempt)
	// and a proxy header claiming localhost (ignored, so loopback) all get in.
	s.mustDial(t, "", fromIP("203.0.113.8"))
	s.mustDial(t, "", nil)
	s.mustDial(t, "", fromIP("127.0.0.9"))
	// X-Real-IP counts when X-Forwarded-For is absent.
	s.refused(t, http.Header{"X-Real-IP": {"203.0.113.7"}})

	_ = open[0].c.Close(websocket.StatusNormalClosure, "")
	s.eventuallyDials(t, remote)
	s.refused(t, remote) // the freed slot is taken again
}

func TestNoPerIPCapByDefault(t *testing.T) {
	// Stock upstream never registers connections with its guard.
	s := newKT(t)
	s.openN(t, kalamtest.UpstreamMaxConnectionsPerIP+1, fromIP("203.0.113.7"))
}

func TestMaxConnectionsRefusesLikeShutdown(t *testing.T) {
	s := newKT(t, kalamtest.WithMaxConnections(3))
	// Upgrades refused earlier (origin) take no slot.
	s2 := newKT(t, kalamtest.WithMaxConnections(1), kalamtest.WithAllowedOrigins("http://ok.example"))
	if _, resp, err := s2.dial(t, "", http.Header{"Origin": {"http://evil.example"}}); err == nil || statusOf(resp) != http.StatusForbidden {
		t.Fatalf("bad origin: want 403, got %d (%v)", statusOf(resp), err)
	}
	s2.mustDial(t, "", nil)

	open := s.openN(t, 3, nil)
	h, body := s.refused(t, nil)
	if body != "Server shutting down" {
		t.Errorf("body %q, want %q", body, "Server shutting down")
	}
	if ct, ok := h["Content-Type"]; ok {
		t.Errorf("Content-Type %q; upstream's .body() sets none", ct)
	}
	// Every client counts, loopback included.
	s.refused(t, fromIP("203.0.113.7"))

	_ = open[1].c.Close(websocket.StatusNormalClosure, "")
	s.eventuallyDials(t, nil)
	s.refused(t, nil)
}

func TestMaxConnectionsZeroRefusesAll(t *testing.T) {
	s := newKT(t, kalamtest.WithMaxConnections(0))
	if _, body := s.refused(t, nil); body != "Server shutting down" {
		t.Errorf("body %q", body)
	}
	// Plain HTTP is not a registry slot.
	if r := doHTTP(t, "GET", s.URL+"/health", "", nil); r.status != http.StatusOK {
		t.Errorf("/health %d", r.status)
	}
}

func TestShutdownAndOriginAnswersAreBareText(t *testing.T) {
	s := newKT(t, kalamtest.WithAllowedOrigins("http://ok.example"))
	_, resp, err := s.dial(t, "", http.Header{"Origin": {"http://evil.example"}})
	if err == nil || statusOf(resp) != http.StatusForbidden {
		t.Fatalf("want 403, got %d (%v)", statusOf(resp), err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "Origin not allowed" || resp.Header.Get("Content-Type") != "" {
		t.Errorf("403 body %q Content-Type %q", b, resp.Header.Get("Content-Type"))
	}
	s.MarkShuttingDown()
	if _, body := s.refused(t, nil); body != "Server is shutting down" {
		t.Errorf("503 body %q", body)
	}
}

func TestRequestGuardExemptsLoopbackAndBans(t *testing.T) {
	s := newKT(t, kalamtest.WithRequestRateLimit(1))
	// Loopback clients are never rate limited.
	for i := range 20 {
		if r := doHTTP(t, "GET", s.URL+"/health", "", nil); r.status != http.StatusOK {
			t.Fatalf("loopback request %d: %d %s", i+1, r.status, r.body)
		}
	}
	// A remote client (via the trusted loopback proxy) is: each refusal is
	// a violation, and the 10th bans the address.
	remote := map[string]string{"X-Forwarded-For": "198.51.100.4, 10.0.0.1"}
	var last httpResp
	violations := 0
	for range 200 { // frozen clock: the 1/s bucket never refills
		last = doHTTP(t, "GET", s.URL+"/health", "", remote)
		if last.status == http.StatusTooManyRequests && last.json(t)["error"] == "RATE_LIMIT_EXCEEDED" {
			violations++
			continue
		}
		if last.status == http.StatusTooManyRequests {
			break
		}
	}
	const want = `{"error":"IP_BANNED","message":"Your IP has been temporarily banned due to excessive requests","retry_after_seconds":300}`
	if string(last.body) != want || violations != 10 {
		t.Fatalf("after %d violations: %d %s, want the ban after 10", violations, last.status, last.body)
	}
	if last.header.Get("Retry-After") != "300" || last.header.Get("X-RateLimit-Reset") != "300" {
		t.Errorf("ban headers %v", last.header)
	}
	// The ban is per address. (The health endpoint answers an outside
	// client 403 once the middleware has let it through.)
	if r := doHTTP(t, "GET", s.URL+"/health", "", map[string]string{"X-Forwarded-For": "198.51.100.5"}); r.status != http.StatusForbidden {
		t.Errorf("another client: %d %s, want the health endpoint's 403", r.status, r.body)
	}
}

func TestAuthRateLimitCountsTheForwardedClient(t *testing.T) {
	s := newKT(t, kalamtest.WithAuthRateLimit(1)) // frozen clock: no refill
	login := func(xff string) int {
		hdr := map[string]string{}
		if xff != "" {
			hdr["X-Forwarded-For"] = xff
		}
		return doHTTP(t, "POST", s.URL+"/v1/api/auth/login", `{"user":"alice","password":"`+alicePW+`"}`, hdr).status
	}
	if a, b := login("198.51.100.4"), login("198.51.100.4"); a != http.StatusOK || b != http.StatusTooManyRequests {
		t.Errorf("one forwarded client twice: %d then %d, want 200 then 429", a, b)
	}
	// Another forwarded client and the loopback peer itself have their own
	// buckets; a proxy header claiming localhost counts as the peer.
	if c := login("198.51.100.5"); c != http.StatusOK {
		t.Errorf("another forwarded client: %d", c)
	}
	if d, e := login(""), login("127.0.0.1"); d != http.StatusOK || e != http.StatusTooManyRequests {
		t.Errorf("loopback then spoofed localhost: %d then %d, want 200 then 429", d, e)
	}
}
