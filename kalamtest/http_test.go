package kalamtest_test

import (
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/kalamdash/kalamdash/internal/fixtures"
	"github.com/kalamdash/kalamdash/kalamtest"
)

// S1: login returns the fixture's shape, both cookies and verifiable JWTs.
func TestS1Login(t *testing.T) {
	s := newKT(t, kalamtest.WithJWTSecret("kalamdb-emulator-fixture-secret-0123456789"))
	r := doHTTP(t, "POST", s.URL+"/v1/api/auth/login", string(mustRead(t, "http-login-request.json")), nil)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	checkFixture(t, "http-login-response.json", r.body)
	m := r.json(t)
	if got := m["expires_at"].(string); got != "2026-05-05T20:00:00.418263517+00:00" {
		t.Errorf("expires_at = %s, want now+24h in chrono's format", got)
	}
	if got := m["refresh_expires_at"].(string); got != "2026-05-11T20:00:00.418263517+00:00" {
		t.Errorf("refresh_expires_at = %s, want now+168h", got)
	}
	cookies := map[string]*http.Cookie{}
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		cookies[c.Name] = c
	}
	for _, n := range []string{"kalamdb_auth", "kalamdb_refresh"} {
		c := cookies[n]
		if c == nil || c.Value == "" || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure {
			t.Errorf("cookie %s = %+v", n, c)
		}
	}
	if cookies["kalamdb_auth"] != nil && cookies["kalamdb_auth"].Value != m["access_token"] {
		t.Error("kalamdb_auth cookie is not the access token")
	}

	// The tokens carry the real header and claims, in order, and verify.
	for name, tok := range map[string]string{"jwt-access-claims.json": m["access_token"].(string), "jwt-refresh-claims.json": m["refresh_token"].(string)} {
		parts := strings.Split(tok, ".")
		hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		checkFixtureExact(t, "jwt-header.json", hdr)
		checkFixtureExact(t, name, payload) // same secret, clock and user: identical claims
		if _, err := jwt.Parse(tok, func(*jwt.Token) (any, error) {
			return []byte("kalamdb-emulator-fixture-secret-0123456789"), nil
		}, jwt.WithTimeFunc(s.clock.Now)); err != nil {
			t.Errorf("%s does not verify: %v", name, err)
		}
		if !strings.HasPrefix(string(payload), `{"sub":"alice","iss":"kalamdb","exp":`) {
			t.Errorf("claims out of order: %s", payload)
		}
	}

	// username alias and sorted keys are accepted.
	r = doHTTP(t, "POST", s.URL+"/v1/api/auth/login", `{"password":"Secret123!","username":"alice"}`, nil)
	if r.status != 200 {
		t.Errorf("username alias: %d %s", r.status, r.body)
	}

	r = doHTTP(t, "POST", s.URL+"/v1/api/auth/login", `{"user":"alice","password":"nope"}`, nil)
	if r.status != 401 {
		t.Fatalf("wrong password: status %d", r.status)
	}
	checkFixtureExact(t, "http-login-error-invalid-credentials.json", r.body)
	r = doHTTP(t, "POST", s.URL+"/v1/api/auth/login", `{"user":"nobody","password":"x"}`, nil)
	if r.status != 401 {
		t.Errorf("unknown user: status %d", r.status)
	}
	checkFixtureExact(t, "http-login-error-invalid-credentials.json", r.body)
}

func TestLoginBodyErrorsArePlainText400(t *testing.T) {
	s := newKT(t)
	for _, tc := range []struct{ body, want string }{
		{`{"user":"alice","password":"x","email":"a@b"}`, "unknown field `email`"},
		{`{"user":"alice"}`, "missing field `password`"},
		{`{"user":1,"password":"x"}`, "invalid type: integer `1`"},
		{`not json`, "expected ident"},
		{`]`, "expected value at line 1 column 1"},
	} {
		r := doHTTP(t, "POST", s.URL+"/v1/api/auth/login", tc.body, nil)
		if r.status != 400 || !strings.Contains(string(r.body), tc.want) || strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: %d %q (%s)", tc.body, r.status, r.body, r.header.Get("Content-Type"))
		}
	}
	r := doHTTP(t, "POST", s.URL+"/v1/api/auth/login", `{"user":"alice","password":"x"}`, map[string]string{"Content-Type": "text/plain"})
	if r.status != 400 || !strings.Contains(string(r.body), "Content type error") {
		t.Errorf("text/plain login: %d %q", r.status, r.body)
	}
}

func TestLoginLockoutAndSetupRequired(t *testing.T) {
	s := newKT(t)
	for i := 0; i < 5; i++ {
		r := doHTTP(t, "POST", s.URL+"/v1/api/auth/login", `{"user":"bob","password":"bad"}`, nil)
		if r.status != 401 || r.json(t)["error"] != "unauthorized" {
			t.Fatalf("failure %d: %d %s", i+1, r.status, r.body)
		}
	}
	r := doHTTP(t, "POST", s.URL+"/v1/api/auth/login", `{"user":"bob","password":"`+bobPW+`"}`, nil)
	if r.status != 401 {
		t.Fatalf("locked login: %d %s", r.status, r.body)
	}
	checkFixtureExact(t, "http-login-error-account-locked.json", r.body)
	s.clock.Advance(15*time.Minute + time.Second)
	r = doHTTP(t, "POST", s.URL+"/v1/api/auth/login", `{"user":"bob","password":"`+bobPW+`"}`, nil)
	if r.status != 200 {
		t.Fatalf("after lockout: %d %s", r.status, r.body)
	}

	fresh, err := kalamtest.NewServer() // root without password
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	r = doHTTP(t, "POST", fresh.URL+"/v1/api/auth/login", `{"user":"root","password":""}`, nil)
	if r.status != 428 {
		t.Fatalf("root before setup: %d %s", r.status, r.body)
	}
	checkFixtureExact(t, "http-login-error-setup-required.json", r.body)
}

func TestAuthRateLimit(t *testing.T) {
	s := newKT(t, kalamtest.WithAuthRateLimit(3))
	for i := 0; i < 3; i++ {
		if r := doHTTP(t, "POST", s.URL+"/v1/api/auth/login", `{"user":"alice","password":"bad"}`, nil); r.status != 401 {
			t.Fatalf("attempt %d: %d", i, r.status)
		}
	}
	r := doHTTP(t, "POST", s.URL+"/v1/api/auth/login", `{"user":"alice","password":"bad"}`, nil)
	if r.status != 429 {
		t.Fatalf("4th attempt within a second: %d %s", r.status, r.body)
	}
	checkFixtureExact(t, "http-auth-error-rate-limited.json", r.body)
	r = doHTTP(t, "POST", s.URL+"/v1/api/auth/refresh", "", nil)
	if r.status != 429 {
		t.Fatalf("refresh shares the limiter: %d %s", r.status, r.body)
	}
	s.clock.Advance(time.Second)
	if r := doHTTP(t, "POST", s.URL+"/v1/api/auth/login", `{"user":"alice","password":"`+alicePW+`"}`, nil); r.status != 200 {
		t.Fatalf("after refill: %d %s", r.status, r.body)
	}
}

// S2: refresh rotates both tokens; access tokens and missing tokens fail.
func TestS2Refresh(t *testing.T) {
	s := newKT(t)
	tk := s.login(t, "alice", alicePW)
	s.clock.Advance(time.Hour)
	r := doHTTP(t, "POST", s.URL+"/v1/api/auth/refresh", "", map[string]string{"Authorization": "Bearer " + tk.refresh})
	if r.status != 200 {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	checkFixture(t, "http-refresh-response.json", r.body)
	m := r.json(t)
	if m["access_token"] == tk.access || m["refresh_token"] == tk.refresh {
		t.Error("refresh did not rotate both tokens")
	}
	if len((&http.Response{Header: r.header}).Cookies()) != 2 {
		t.Error("refresh must re-issue both cookies")
	}
	if r := s.sql(t, m["access_token"].(string), "SELECT 1"); r.status == 401 {
		t.Errorf("new access token refused: %s", r.body)
	}

	r = doHTTP(t, "POST", s.URL+"/v1/api/auth/refresh", "", map[string]string{"Authorization": "Bearer " + tk.access})
	if r.status != 401 {
		t.Fatalf("access token to refresh: %d", r.status)
	}
	checkFixtureExact(t, "http-refresh-error-wrong-token-type.json", r.body)

	r = doHTTP(t, "POST", s.URL+"/v1/api/auth/refresh", "", nil)
	if r.status != 401 {
		t.Fatalf("no token: %d", r.status)
	}
	checkFixtureExact(t, "http-refresh-error-missing-token.json", r.body)

	for hdr, want := range map[string]string{
		"Basic YWxpY2U6eA==": "Authorization header must use Bearer token",
		"Bearer ":            "Bearer token missing",
		"Bearer garbage":     "JWT decode error:",
	} {
		r = doHTTP(t, "POST", s.URL+"/v1/api/auth/refresh", "", map[string]string{"Authorization": hdr})
		if r.status != 401 || !strings.HasPrefix(r.json(t)["message"].(string), want) {
			t.Errorf("%q: %d %s", hdr, r.status, r.body)
		}
	}

	// Cookie first: a valid refresh cookie wins over a bad header.
	r = doHTTP(t, "POST", s.URL+"/v1/api/auth/refresh", "", map[string]string{
		"Cookie": "kalamdb_refresh=" + m["refresh_token"].(string), "Authorization": "Bearer garbage"})
	if r.status != 200 {
		t.Errorf("refresh cookie: %d %s", r.status, r.body)
	}

	// Role change makes old tokens stale; removal makes the user invalid.
	bob := s.login(t, "bob", bobPW)
	if err := s.SetRole("bob", "service"); err != nil {
		t.Fatal(err)
	}
	r = doHTTP(t, "POST", s.URL+"/v1/api/auth/refresh", "", map[string]string{"Authorization": "Bearer " + bob.refresh})
	checkFixtureExact(t, "http-refresh-error-role-mismatch.json", r.body)
	if r := s.sql(t, bob.access, "SELECT 1"); r.json(t)["error"].(map[string]any)["code"] != "INVALID_CREDENTIALS" {
		t.Errorf("stale role on /sql: %s", r.body)
	}
	if err := s.RemoveUser("bob"); err != nil {
		t.Fatal(err)
	}
	r = doHTTP(t, "POST", s.URL+"/v1/api/auth/refresh", "", map[string]string{"Authorization": "Bearer " + bob.refresh})
	checkFixtureExact(t, "http-refresh-error-user-invalid.json", r.body)

	// An expired refresh token is plain "Invalid credentials".
	s.clock.Advance(8 * 24 * time.Hour)
	r = doHTTP(t, "POST", s.URL+"/v1/api/auth/refresh", "", map[string]string{"Authorization": "Bearer " + tk.refresh})
	checkFixtureExact(t, "http-login-error-invalid-credentials.json", r.body)
}

// S3: /sql authentication errors.
func TestS3SQLAuthErrors(t *testing.T) {
	s := newKT(t, kalamtest.WithAccessTTL(time.Minute))
	tk := s.login(t, "alice", alicePW)

	r := doHTTP(t, "POST", s.URL+"/v1/api/sql", `{"sql":"SELECT 1"}`, nil)
	if r.status != 401 {
		t.Fatalf("no header: %d", r.status)
	}
	checkFixture(t, "http-sql-error-missing-authorization.json", r.body)
	if !strings.HasPrefix(string(r.body), `{"error":{"code":"MISSING_AUTHORIZATION","message":"Authentication required"},"results":[],"status":"error","took":`) {
		t.Errorf("auth error not in serde_json key order: %s", r.body)
	}

	r = s.sql(t, tk.refresh, "SELECT 1")
	if r.status != 401 {
		t.Fatalf("refresh token: %d", r.status)
	}
	checkFixtureExact(t, "http-sql-error-invalid-credentials.json", withTook(t, r.body, 0.18764))

	r = doHTTP(t, "POST", s.URL+"/v1/api/sql", `{"sql":"SELECT 1"}`, map[string]string{"Authorization": "Basic YWxpY2U6U2VjcmV0MTIzIQ=="})
	checkFixtureExact(t, "http-sql-error-invalid-credentials.json", withTook(t, r.body, 0.18764))

	// Within the 60 s leeway the token still works; past it, TOKEN_EXPIRED.
	s.clock.Advance(time.Minute + 30*time.Second)
	if r := s.sql(t, tk.access, "SELECT 1"); r.status == 401 {
		t.Fatalf("inside leeway: %s", r.body)
	}
	s.clock.Advance(31 * time.Second)
	r = s.sql(t, tk.access, "SELECT 1")
	if r.status != 401 {
		t.Fatalf("expired: %d %s", r.status, r.body)
	}
	checkFixtureExact(t, "http-sql-error-token-expired.json", withTook(t, r.body, 0.21342))

	// /me says Invalid credentials for the same token.
	r = doHTTP(t, "GET", s.URL+"/v1/api/auth/me", "", map[string]string{"Authorization": "Bearer " + tk.access})
	checkFixtureExact(t, "http-login-error-invalid-credentials.json", r.body)
}

// withTook replaces took so a fixture can be compared exactly.
func withTook(t *testing.T, body []byte, took float64) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["took"].(float64); !ok {
		t.Fatalf("took is not a number: %s", body)
	}
	m["took"] = took
	b, _ := json.Marshal(m)
	return b
}

func TestFaultExpireAndRevokeTokens(t *testing.T) {
	s := newKT(t)
	tk := s.login(t, "alice", alicePW)
	if n := s.ExpireTokens(); n < 2 {
		t.Fatalf("ExpireTokens affected %d tokens", n)
	}
	r := s.sql(t, tk.access, "SELECT 1")
	if r.json(t)["error"].(map[string]any)["code"] != "TOKEN_EXPIRED" {
		t.Errorf("expired by fault: %s", r.body)
	}
	r = doHTTP(t, "POST", s.URL+"/v1/api/auth/refresh", "", map[string]string{"Authorization": "Bearer " + tk.refresh})
	checkFixtureExact(t, "http-login-error-invalid-credentials.json", r.body)

	tk2 := s.login(t, "alice", alicePW)
	if r := s.sql(t, tk2.access, "SELECT 1"); r.status == 401 {
		t.Fatalf("token issued after ExpireTokens refused: %s", r.body)
	}
	s.RevokeTokens()
	if r := s.sql(t, tk2.access, "SELECT 1"); r.json(t)["error"].(map[string]any)["code"] != "INVALID_CREDENTIALS" {
		t.Errorf("revoked: %s", r.body)
	}
}

func TestMeLogoutHealthSetup(t *testing.T) {
	s := newKT(t)
	tk := s.login(t, "alice", alicePW)
	r := doHTTP(t, "GET", s.URL+"/v1/api/auth/me", "", map[string]string{"Authorization": "Bearer " + tk.access})
	if r.status != 200 {
		t.Fatalf("me: %d %s", r.status, r.body)
	}
	checkFixture(t, "http-me-response.json", r.body)
	r = doHTTP(t, "GET", s.URL+"/v1/api/auth/me", "", map[string]string{"Cookie": "kalamdb_auth=" + tk.access})
	if r.status != 200 {
		t.Errorf("me by cookie: %d %s", r.status, r.body)
	}
	r = doHTTP(t, "GET", s.URL+"/v1/api/auth/me", "", nil)
	checkFixtureExact(t, "http-me-error-no-token.json", r.body)
	r = doHTTP(t, "GET", s.URL+"/v1/api/auth/me", "", map[string]string{"Authorization": "Bearer " + tk.refresh})
	checkFixtureExact(t, "http-login-error-invalid-credentials.json", r.body)

	r = doHTTP(t, "POST", s.URL+"/v1/api/auth/logout", "", nil)
	checkFixtureExact(t, "http-logout-response.json", r.body)
	cs := (&http.Response{Header: r.header}).Cookies()
	if len(cs) != 2 || cs[0].Value != "" || !cs[0].Expires.Equal(time.Unix(0, 0)) {
		t.Errorf("logout cookies: %+v", cs)
	}

	for _, p := range []string{"/health", "/v1/api/healthcheck"} {
		r = doHTTP(t, "GET", s.URL+p, "", nil)
		if r.status != 200 {
			t.Fatalf("%s: %d", p, r.status)
		}
		checkFixture(t, "http-healthcheck-response.json", r.body)
		if !strings.HasPrefix(string(r.body), `{"api_version":"v1","build_date":`) {
			t.Errorf("health keys not alphabetical: %s", r.body)
		}
	}

	// s has a root password: configured.
	r = doHTTP(t, "GET", s.URL+"/v1/api/auth/status", "", nil)
	if r.json(t)["needs_setup"] != false {
		t.Errorf("status: %s", r.body)
	}
	r = doHTTP(t, "POST", s.URL+"/v1/api/auth/setup", `{"user":"admin","password":"AdminPass123!","root_password":"RootPass123!"}`, nil)
	if r.status != 409 {
		t.Fatalf("setup again: %d", r.status)
	}
	checkFixtureExact(t, "http-setup-error-already-configured.json", r.body)

	fresh, err := kalamtest.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	r = doHTTP(t, "GET", fresh.URL+"/v1/api/auth/status", "", nil)
	checkFixtureExact(t, "http-setup-status-response.json", r.body)
	r = doHTTP(t, "POST", fresh.URL+"/v1/api/auth/setup", string(mustRead(t, "http-setup-request.json")), nil)
	if r.status != 200 {
		t.Fatalf("setup: %d %s", r.status, r.body)
	}
	checkFixture(t, "http-setup-response.json", r.body)
	if r.json(t)["message"] != fixtures.Load(t, "http-setup-response.json").(map[string]any)["message"] {
		t.Errorf("setup message: %s", r.body)
	}
	r = doHTTP(t, "POST", fresh.URL+"/v1/api/auth/login", `{"user":"admin","password":"AdminPass123!"}`, nil)
	if r.status != 200 || r.json(t)["admin_ui_access"] != true {
		t.Errorf("login as the new dba: %d %s", r.status, r.body)
	}
	r = doHTTP(t, "POST", fresh.URL+"/v1/api/auth/login", `{"user":"root","password":"RootPass123!"}`, nil)
	if r.status != 200 {
		t.Errorf("login as root after setup: %d %s", r.status, r.body)
	}
}

func TestMiddlewareLimits(t *testing.T) {
	s := newKT(t, kalamtest.WithRequestRateLimit(2))
	var last httpResp
	for i := 0; i < 20; i++ { // frozen clock: the 2/s bucket never refills
		// Loopback is exempt: the proxy header makes this a remote client.
		if last = doHTTP(t, "GET", s.URL+"/health", "", map[string]string{"X-Forwarded-For": "198.51.100.4"}); last.status == 429 {
			break
		}
	}
	if last.status != 429 || last.header.Get("Retry-After") != "1" {
		t.Fatalf("no 429 in a burst: %d", last.status)
	}
	checkFixtureExact(t, "http-middleware-rate-limited.json", last.body)

	s2 := newKT(t)
	tk := s2.login(t, "alice", alicePW)
	r := doHTTP(t, "POST", s2.URL+"/v1/api/sql", `{"sql":"`+strings.Repeat("x", 10<<20)+`"}`, map[string]string{"Authorization": "Bearer " + tk.access})
	m := r.json(t)
	if r.status != 413 || m["error"] != "BODY_TOO_LARGE" || m["max_bytes"] == nil || m["size_bytes"] == nil {
		t.Errorf("big body: %d %s", r.status, r.body)
	}
}

// Health and setup status are localhost-only: a client on another host is
// refused (TestLocalhostChecksUseTheClientAddress covers proxies and 127/8).
func TestLocalhostOnlyEndpoints(t *testing.T) {
	var ip net.IP
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			ip = n.IP
			break
		}
	}
	if ip == nil {
		t.Skip("SKIPPED: no non-loopback IPv4 address to reach the server as a remote peer")
	}
	s := newKT(t, kalamtest.WithAddr("0.0.0.0:0"))
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(s.URL, "http://"))
	remote := "http://" + net.JoinHostPort(ip.String(), port)
	r := doHTTP(t, "GET", remote+"/v1/api/healthcheck", "", nil)
	if r.status != 403 {
		t.Fatalf("remote health: %d %s", r.status, r.body)
	}
	checkFixtureExact(t, "http-healthcheck-forbidden.json", r.body)
	r = doHTTP(t, "GET", remote+"/v1/api/auth/status", "", nil)
	if r.status != 403 || r.json(t)["message"] != "Setup status can only be checked from localhost" {
		t.Errorf("remote status: %d %s", r.status, r.body)
	}
	if r := doHTTP(t, "GET", s.URL+"/health", "", nil); r.status != 200 {
		t.Errorf("local health: %d", r.status)
	}
}

// The localhost-only endpoints decide "localhost" on the client address
// after the proxy-header rule (a loopback peer's X-Forwarded-For, else
// X-Real-IP, unless it claims localhost), matched as the text 127.0.0.1,
// ::1 or localhost — not on the socket peer, and not all of 127/8
// (jamals86/KalamDB: backend/crates/kalamdb-api/src/http/health.rs,
// backend/crates/kalamdb-api/src/http/auth/setup.rs,
// backend/crates/kalamdb-commons/src/models/connection.rs,
// backend/crates/kalamdb-auth/src/helpers/ip_extractor.rs).
func TestLocalhostChecksUseTheClientAddress(t *testing.T) {
	s := newKT(t, kalamtest.WithRootPassword(""))
	setupBody := `{"user":"dba1","password":"DbaPass123!","root_password":"RootPass123!"}`
	for _, tc := range []struct {
		name  string
		hdr   map[string]string
		local bool
	}{
		{"loopback peer", nil, true},
		{"forwarded for an outside address", map[string]string{"X-Forwarded-For": "203.0.113.5, 127.0.0.1"}, false},
		{"real IP of an outside address", map[string]string{"X-Real-IP": "203.0.113.6"}, false},
		{"forwarded for localhost (ignored)", map[string]string{"X-Forwarded-For": "127.0.0.1"}, true},
		{"forwarded for another loopback (ignored)", map[string]string{"X-Forwarded-For": "127.0.0.9", "X-Real-IP": "::1"}, true},
	} {
		health := doHTTP(t, "GET", s.URL+"/v1/api/healthcheck", "", tc.hdr)
		status := doHTTP(t, "GET", s.URL+"/v1/api/auth/status", "", tc.hdr)
		want := http.StatusForbidden
		if tc.local {
			want = http.StatusOK
		}
		if health.status != want || status.status != want {
			t.Errorf("%s: health %d, setup status %d, want %d", tc.name, health.status, status.status, want)
		}
		if !tc.local {
			if r := doHTTP(t, "POST", s.URL+"/v1/api/auth/setup", setupBody, tc.hdr); r.status != http.StatusForbidden {
				t.Errorf("%s: setup %d %s, want 403", tc.name, r.status, r.body)
			}
		}
	}

	// A peer on 127.0.0.2 is loopback to the rate limiter but not
	// "localhost" to these endpoints.
	from2 := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{
		LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext}}
	defer from2.CloseIdleConnections()
	for _, path := range []string{"/v1/api/healthcheck", "/health", "/v1/api/auth/status"} {
		resp, err := from2.Get(s.URL + path)
		if err != nil {
			t.Fatalf("GET %s from 127.0.0.2: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s from 127.0.0.2: %d, want 403", path, resp.StatusCode)
		}
	}
}
