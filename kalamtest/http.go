package kalamtest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kalamdash/kalamdash/kalamtest/mint"
)

// routes registers every endpoint of section 0 of the reference.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.handleHealth)
	mux.HandleFunc("GET /v1/api/healthcheck", s.handleHealth)
	mux.HandleFunc("POST /v1/api/auth/login", s.handleLogin)
	mux.HandleFunc("POST /v1/api/auth/refresh", s.handleRefresh)
	mux.HandleFunc("POST /v1/api/auth/logout", s.handleLogout)
	mux.HandleFunc("GET /v1/api/auth/me", s.handleMe)
	mux.HandleFunc("GET /v1/api/auth/status", s.handleSetupStatus)
	mux.HandleFunc("POST /v1/api/auth/setup", s.handleSetup)
	mux.HandleFunc("POST /v1/api/sql", s.handleSQL)
	mux.HandleFunc("GET "+FirehosePath, s.handleFirehose)
	mux.HandleFunc("GET /v1/api/cluster/health", s.handleClusterHealth)
	ws := http.HandlerFunc(s.handleWS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.waitStall(r.Context())
		if !s.protect(w, r) {
			s.log.Info("http refused", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
			return
		}
		// Upstream's route admits only GET (#[get("/ws")] in
		// kalamdb-api/src/ws/handler.rs): other methods find no route.
		if r.URL.Path == "/v1/ws" && r.Method == http.MethodGet {
			release, ok := s.guardWS(w, r)
			if !ok {
				s.log.Info("ws refused: too many connections from one IP", "remote", r.RemoteAddr)
				return
			}
			defer release() // the handler returns when the socket is done
			// Not wrapped: the upgrade hijacks the ResponseWriter, and the
			// socket logs its own open/close lines.
			ws.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		mux.ServeHTTP(rec, r)
		s.log.Info("http", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"remote", r.RemoteAddr, "dur", time.Since(start).Round(time.Microsecond))
	})
}

// protect is upstream's connection-protection middleware, in front of
// every route and of the /v1/ws upgrade's own checks (shutdown, origin,
// registry slot): a body size cap (413 BODY_TOO_LARGE) for everyone, then,
// for clients that are not loopback (see guardIP), a temporary ban
// (429 IP_BANNED) and a per-IP request rate (429 RATE_LIMIT_EXCEEDED)
// (jamals86/KalamDB: backend/src/middleware.rs, wrapped around every
// route in backend/src/lifecycle.rs; backend/src/connection_guard.rs).
// Its bodies are json! maps: keys sorted.
func (s *Server) protect(w http.ResponseWriter, r *http.Request) bool {
	if r.ContentLength > maxBodyBytes {
		writeBodyTooLarge(w, r.ContentLength)
		return false
	}
	ip := guardIP(r)
	if ip == nil || ip.IsLoopback() {
		return true
	}
	switch s.guard.check(ip.String(), s.now()) {
	case guardBanned:
		writeGuardRefusal(w, guardBanned, "Your IP has been temporarily banned due to excessive requests", 300)
		return false
	case guardRateLimit:
		writeGuardRefusal(w, guardRateLimit, "Too many requests from your IP address", 1)
		return false
	}
	return true
}

// writeGuardRefusal is the middleware's 429: the wait in both headers and
// the body.
func writeGuardRefusal(w http.ResponseWriter, code, message string, retrySeconds int) {
	retry := strconv.Itoa(retrySeconds)
	w.Header().Set("Retry-After", retry)
	w.Header().Set("X-RateLimit-Reset", retry)
	writeJSON(w, http.StatusTooManyRequests, struct {
		Error             string `json:"error"`
		Message           string `json:"message"`
		RetryAfterSeconds int    `json:"retry_after_seconds"`
	}{code, message, retrySeconds})
}

func writeBodyTooLarge(w http.ResponseWriter, size int64) {
	writeJSON(w, http.StatusRequestEntityTooLarge, struct {
		Error     string `json:"error"`
		MaxBytes  int    `json:"max_bytes"`
		Message   string `json:"message"`
		SizeBytes int64  `json:"size_bytes"`
	}{"BODY_TOO_LARGE", maxBodyBytes, "Request body exceeds maximum allowed size", size})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

// WriteHeader records the status for the log line.
func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Flush passes through, so streamed bodies still stream.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// writeJSON answers with an application/json body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "kalamtest: encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// authError is the {"error","message"} body of the auth endpoints.
type authError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func writeAuthError(w http.ResponseWriter, status int, kind, msg string) {
	writeJSON(w, status, authError{Error: kind, Message: msg})
}

// isLocalhost is upstream's check for the localhost-only endpoints
// (health, setup status, setup): the client address after the proxy-header
// rule (guardIP: a loopback peer's X-Forwarded-For or X-Real-IP names the
// client), matched as text against 127.0.0.1, ::1 and localhost. So a
// peer on 127.0.0.2 is remote here, though the middleware exempts it, and
// so is a local proxy forwarding for an outside address
// (jamals86/KalamDB: backend/crates/kalamdb-commons/src/models/connection.rs
// ConnectionInfo::is_localhost, fed by extract_client_ip_secure in
// backend/crates/kalamdb-auth/src/helpers/ip_extractor.rs).
func isLocalhost(r *http.Request) bool {
	ip := guardIP(r)
	if ip == nil {
		return false
	}
	// Upstream also accepts the text "localhost", which an address never is.
	switch ip.String() {
	case "127.0.0.1", "::1":
		return true
	}
	return false
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// rfc3339 formats like chrono's to_rfc3339: "+00:00", and fractional
// seconds only when non-zero, with 3, 6 or 9 digits.
func rfc3339(t time.Time) string {
	t = t.UTC()
	ns := t.Nanosecond()
	base := t.Format("2006-01-02T15:04:05")
	switch {
	case ns == 0:
	case ns%1_000_000 == 0:
		base += fmt.Sprintf(".%03d", ns/1_000_000)
	case ns%1_000 == 0:
		base += fmt.Sprintf(".%06d", ns/1_000)
	default:
		base += fmt.Sprintf(".%09d", ns)
	}
	return base + "+00:00"
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	if !isLocalhost(r) {
		writeJSON(w, http.StatusForbidden, struct {
			Error string `json:"error"`
		}{healthForbiddenMessageText})
		return
	}
	// Field order is serde_json's alphabetical map order.
	writeJSON(w, http.StatusOK, struct {
		APIVersion string `json:"api_version"`
		BuildDate  string `json:"build_date"`
		Status     string `json:"status"`
		Version    string `json:"version"`
	}{"v1", serverBuildDate, "healthy", ServerVersion})
}

// bodyError answers a body the actix JSON extractor would refuse: a 400
// with a plain-text body, not a JSON error shape.
func bodyError(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write([]byte(msg))
}

// decodeStrictBody decodes a JSON object whose keys must all be in fields
// (aliases map to their canonical name); it returns serde-like error text.
func decodeStrictBody(r *http.Request, fields map[string]string, required []string, expected string) (map[string]string, string) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return nil, "Content type error"
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 64<<10))
	if err := dec.Decode(&raw); err != nil {
		return nil, "Json deserialize error: " + serdeText(err)
	}
	out := map[string]string{}
	for k, v := range raw {
		canon, ok := fields[k]
		if !ok {
			return nil, fmt.Sprintf("Json deserialize error: unknown field `%s`, expected one of %s", k, expected)
		}
		if _, dup := out[canon]; dup {
			return nil, fmt.Sprintf("Json deserialize error: duplicate field `%s`", canon)
		}
		var sv *string
		if err := json.Unmarshal(v, &sv); err != nil {
			return nil, fmt.Sprintf("Json deserialize error: invalid type: %s, expected a string", jsonKind(v))
		}
		if sv != nil {
			out[canon] = *sv
		}
	}
	for _, f := range required {
		if _, ok := out[f]; !ok {
			return nil, fmt.Sprintf("Json deserialize error: missing field `%s`", f)
		}
	}
	return out, ""
}

// authBody decodes an auth endpoint's body as decodeStrictBody does, then
// applies the auth rate limit (authAllowed); a bad body is refused before
// the limit is consulted. false means the refusal is written.
func (s *Server) authBody(w http.ResponseWriter, r *http.Request, fields map[string]string, required []string, expected, attempts string) (map[string]string, bool) {
	body, msg := decodeStrictBody(r, fields, required, expected)
	if msg != "" {
		bodyError(w, msg)
		return nil, false
	}
	return body, s.authAllowed(w, r, attempts)
}

// authAllowed applies the auth endpoints' rate limit to r, answering 429
// ("Too many <attempts> attempts") when it is spent.
func (s *Server) authAllowed(w http.ResponseWriter, r *http.Request, attempts string) bool {
	if !s.authLim.allow(authKey(r), s.now()) {
		writeAuthError(w, http.StatusTooManyRequests, "rate_limited", "Too many "+attempts+" attempts. Please retry shortly.")
		return false
	}
	return true
}

var loginFields = map[string]string{"user": "user", "username": "user", "password": "password"}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	body, ok := s.authBody(w, r, loginFields, []string{"user", "password"}, "`user`, `username`, `password`", "authentication")
	if !ok {
		return
	}
	name, pw := body["user"], body["password"]
	if len(name) > maxLoginUserBytes || len(pw) > maxLoginPasswordBytes {
		writeAuthError(w, http.StatusUnauthorized, "unauthorized", "Invalid credentials")
		return
	}
	u, res, left := s.users.checkLogin(name, pw)
	switch res {
	case loginSetupRequired:
		writeAuthError(w, http.StatusPreconditionRequired, "setup_required", "Server requires initial setup. Root password is not configured.")
		return
	case loginLocked:
		writeAuthError(w, http.StatusUnauthorized, "account_locked", lockMessage(left))
		return
	case loginInvalid:
		writeAuthError(w, http.StatusUnauthorized, "unauthorized", "Invalid credentials")
		return
	}
	s.issuePair(w, r, u)
}

// issuePair answers login and refresh: a new access and refresh token,
// both cookies, and the login body.
func (s *Server) issuePair(w http.ResponseWriter, r *http.Request, u user) {
	now := s.now()
	access, _, err := s.sign(u, mint.TokenAccess, now)
	if err != nil {
		writeAuthError(w, http.StatusInternalServerError, "internal_error", "Failed to generate token")
		return
	}
	refresh, _, err := s.sign(u, mint.TokenRefresh, now)
	if err != nil {
		writeAuthError(w, http.StatusInternalServerError, "internal_error", "Failed to generate token")
		return
	}
	// Upstream computes expires_at from a second Utc::now(): it keeps its
	// sub-second part while the JWT exp is whole seconds.
	exp := now.Add(s.cfg.accessTTL)
	rexp := now.Add(s.refreshTTL())
	setCookie(w, r, "kalamdb_auth", access, exp)
	setCookie(w, r, "kalamdb_refresh", refresh, rexp)
	writeJSON(w, http.StatusOK, loginResponse{
		User:             userInfoOf(u),
		AdminUIAccess:    u.role == RoleDBA || u.role == RoleSystem,
		ExpiresAt:        rfc3339(exp),
		AccessToken:      access,
		RefreshToken:     refresh,
		RefreshExpiresAt: rfc3339(rexp),
	})
}

type userInfo struct {
	ID        string  `json:"id"`
	Role      string  `json:"role"`
	Email     *string `json:"email"`
	CreatedAt string  `json:"created_at"`
	UpdatedAt string  `json:"updated_at"`
}

type loginResponse struct {
	User             userInfo `json:"user"`
	AdminUIAccess    bool     `json:"admin_ui_access"`
	ExpiresAt        string   `json:"expires_at"`
	AccessToken      string   `json:"access_token"`
	RefreshToken     string   `json:"refresh_token"`
	RefreshExpiresAt string   `json:"refresh_expires_at"`
}

func userInfoOf(u user) userInfo {
	return userInfo{ID: u.id, Role: u.role, Email: u.email, CreatedAt: rfc3339(u.createdAt), UpdatedAt: rfc3339(u.updatedAt)}
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value string, exp time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", Expires: exp,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
}

func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request) {
	if !s.authAllowed(w, r, "authentication") {
		return
	}
	var tok string
	if c, err := r.Cookie("kalamdb_refresh"); err == nil && c.Value != "" {
		tok = c.Value
	} else {
		h := r.Header.Get("Authorization")
		if h == "" {
			writeAuthError(w, http.StatusUnauthorized, "unauthorized", "No refresh token found")
			return
		}
		scheme, rest, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			writeAuthError(w, http.StatusUnauthorized, "unauthorized", "Authorization header must use Bearer token")
			return
		}
		tok = strings.TrimSpace(rest)
		if tok == "" {
			writeAuthError(w, http.StatusUnauthorized, "unauthorized", "Bearer token missing")
			return
		}
	}
	_, u, st, detail := s.validate(tok, mint.TokenRefresh)
	switch st {
	case tokOK:
		s.issuePair(w, r, u)
	case tokMalformed:
		writeAuthError(w, http.StatusUnauthorized, "unauthorized", detail)
	case tokWrongType:
		writeAuthError(w, http.StatusUnauthorized, "unauthorized", "Refresh endpoint requires a refresh token")
	case tokNoUser:
		writeAuthError(w, http.StatusUnauthorized, "unauthorized", "User no longer valid")
	case tokRoleMismatch:
		writeAuthError(w, http.StatusUnauthorized, "unauthorized", "Token role does not match user role")
	default:
		writeAuthError(w, http.StatusUnauthorized, "unauthorized", "Invalid credentials")
	}
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	for _, n := range []string{"kalamdb_auth", "kalamdb_refresh"} {
		http.SetCookie(w, &http.Cookie{
			Name: n, Value: "", Path: "/", Expires: time.Unix(0, 0),
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
		})
	}
	writeJSON(w, http.StatusOK, struct {
		Message string `json:"message"`
	}{"Logged out successfully"})
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	var tok string
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, rest, _ := strings.Cut(h, " ")
		if strings.EqualFold(scheme, "Bearer") {
			tok = strings.TrimSpace(rest)
		}
	}
	if tok == "" {
		if c, err := r.Cookie("kalamdb_auth"); err == nil {
			tok = c.Value
		}
	}
	if tok == "" {
		writeAuthError(w, http.StatusUnauthorized, "unauthorized", "No auth token found")
		return
	}
	_, u, st, _ := s.validate(tok, mint.TokenAccess)
	if st != tokOK {
		writeAuthError(w, http.StatusUnauthorized, "unauthorized", "Invalid credentials")
		return
	}
	writeJSON(w, http.StatusOK, struct {
		User          userInfo `json:"user"`
		AdminUIAccess bool     `json:"admin_ui_access"`
	}{userInfoOf(u), u.role == RoleDBA || u.role == RoleSystem})
}

func (s *Server) needsSetup() bool {
	root, ok := s.users.get("root")
	return ok && root.hash == nil
}

func (s *Server) handleSetupStatus(w http.ResponseWriter, r *http.Request) {
	if !isLocalhost(r) {
		writeAuthError(w, http.StatusForbidden, "forbidden", "Setup status can only be checked from localhost")
		return
	}
	msg := "Server is configured and ready."
	needs := s.needsSetup()
	if needs {
		msg = "Server requires initial setup. Call POST /v1/api/auth/setup with user, password, root_password, and optional email."
	}
	writeJSON(w, http.StatusOK, struct {
		Message    string `json:"message"`
		NeedsSetup bool   `json:"needs_setup"`
	}{msg, needs})
}

var setupFields = map[string]string{"user": "user", "username": "user", "password": "password", "root_password": "root_password", "email": "email"}

func (s *Server) handleSetup(w http.ResponseWriter, r *http.Request) {
	body, ok := s.authBody(w, r, setupFields, []string{"user", "password", "root_password"}, "`user`, `username`, `password`, `root_password`, `email`", "setup")
	if !ok {
		return
	}
	if !isLocalhost(r) {
		writeAuthError(w, http.StatusForbidden, "forbidden", "Server setup can only be performed from localhost")
		return
	}
	if !s.needsSetup() {
		writeAuthError(w, http.StatusConflict, "already_configured", "Server has already been configured. Root password is set.")
		return
	}
	if m := weakPassword(body["password"]); m != "" {
		writeAuthError(w, http.StatusBadRequest, "weak_password", "DBA user password: "+m)
		return
	}
	if m := weakPassword(body["root_password"]); m != "" {
		writeAuthError(w, http.StatusBadRequest, "weak_password", "Root password: "+m)
		return
	}
	name := body["user"]
	if strings.TrimSpace(name) == "" || strings.ContainsAny(name, " \t\n:/") {
		writeAuthError(w, http.StatusBadRequest, "invalid_user", "Invalid user value")
		return
	}
	if name == "root" {
		writeAuthError(w, http.StatusBadRequest, "invalid_user", "Cannot create a DBA user with user 'root'. Choose a different user.")
		return
	}
	if _, ok := s.users.get(name); ok {
		writeAuthError(w, http.StatusConflict, "user_exists", fmt.Sprintf("User '%s' already exists", name))
		return
	}
	if err := s.users.setPassword("root", body["root_password"]); err != nil {
		writeAuthError(w, http.StatusInternalServerError, "internal_error", "Failed to configure root user")
		return
	}
	if err := s.users.add(name, body["password"], RoleDBA, body["email"]); err != nil {
		writeAuthError(w, http.StatusInternalServerError, "internal_error", "Failed to create DBA user")
		return
	}
	s.db.userAdded(name)
	u, _ := s.users.get(name)
	writeJSON(w, http.StatusOK, struct {
		User    userInfo `json:"user"`
		Message string   `json:"message"`
	}{userInfoOf(u), fmt.Sprintf("Server setup complete. Root password configured and DBA user '%s' created. Please login to continue.", name)})
}

// weakPassword applies a minimal policy; the texts are ours, upstream's
// validate_password wording is not contractual.
func weakPassword(pw string) string {
	if len(pw) < 8 {
		return "Password must be at least 8 characters"
	}
	if len(pw) > maxLoginPasswordBytes {
		return "Password is too long"
	}
	return ""
}
