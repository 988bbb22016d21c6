package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxBody caps HTTP response bodies, like the SDKs' 64 MiB text limit.
const maxBody = 64 << 20

// httpResult is one HTTP exchange.
type httpResult struct {
	base   *url.URL // the node that answered
	status int
	header http.Header
	body   []byte
}

// do performs one HTTP exchange against the server, tapping request and
// response. bearer is sent as "Authorization: Bearer …" when non-empty.
func (c *Client) do(ctx context.Context, op, method, path string, body any, bearer string) (*httpResult, error) {
	return c.doAt(ctx, c.node(), op, method, path, body, bearer)
}

// doAt is do against another server's base URL (another node of the
// cluster), with this client's HTTP settings and tap.
func (c *Client) doAt(ctx context.Context, base *url.URL, op, method, path string, body any, bearer string) (*httpResult, error) {
	if c.isClosed() {
		return nil, ErrClientClosed
	}
	target := base.String() + path
	var reqBody []byte
	if body != nil {
		var err error
		if reqBody, err = json.Marshal(body); err != nil {
			return nil, &Error{Kind: KindOther, Op: op, Message: "cannot encode request", Err: err}
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(reqBody))
	if err != nil {
		return nil, &Error{Kind: KindOther, Op: op, Message: "cannot build request", Err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	} else {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	req.Header.Set("Accept", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	c.st.httpRequests.Add(1)
	kind := method + " " + base.Path + path
	start := time.Now()
	c.tapHTTPRequest(kind, req, reqBody)
	resp, err := c.hc.Do(req)
	if err != nil {
		cerr := classifyNetErr(op, base.String(), err)
		c.tapHTTPResponse(kind, 0, nil, nil, time.Since(start), cerr)
		return nil, cerr
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	dur := time.Since(start)
	if err == nil && len(data) > maxBody {
		err = fmt.Errorf("response larger than %d MiB", maxBody>>20)
	}
	c.tapHTTPResponse(kind, resp.StatusCode, resp.Header, data, dur, err)
	if err != nil {
		return nil, classifyNetErr(op, base.String(), err)
	}
	if resp.StatusCode < 500 && json.Valid(data) && c.ownNode(base) {
		c.st.httpAnswered.Store(true) // scheme, host and port are right
	}
	return &httpResult{base: base, status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// notKalamDB recognises answers that cannot come from KalamDB's API.
func (c *Client) notKalamDB(op, path string, r *httpResult) *Error {
	ct, _, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
	trimmed := bytes.TrimSpace(r.body)
	switch {
	case r.status == http.StatusBadRequest && bytes.Contains(r.body, []byte("HTTP request to an HTTPS server")):
		return &Error{Kind: KindTLS, Op: op, Status: r.status,
			Message: fmt.Sprintf("%s speaks HTTPS: use https:// (or wss://) instead of http://", r.base.Host)}
	case isHTML(ct, trimmed) && (r.status == http.StatusBadGateway || r.status == http.StatusServiceUnavailable || r.status == http.StatusGatewayTimeout):
		// An HTML 502/503/504 is a proxy's page: KalamDB itself answers JSON.
		return &Error{Kind: KindUnreachable, Op: op, Status: r.status,
			Message: fmt.Sprintf("the proxy at %s answered HTTP %d %s: the KalamDB server behind it is down or unreachable", r.base.Host, r.status, http.StatusText(r.status))}
	case isHTML(ct, trimmed):
		return &Error{Kind: KindNotKalamDB, Op: op, Status: r.status,
			Message: fmt.Sprintf("not a KalamDB server? got text/html (HTTP %d) from %s%s", r.status, r.base, path)}
	case r.status == http.StatusNotFound:
		return &Error{Kind: KindNotKalamDB, Op: op, Status: r.status,
			Message: fmt.Sprintf("%s%s answered 404: wrong path prefix, or not a KalamDB server", r.base, path)}
	}
	return nil
}

// decodeJSON decodes the first JSON value of data into v with UseNumber,
// so large integers never pass through float64. It ignores what follows
// that value: an HTTP answer is judged by its status and the fields it
// decodes, and a proxy's trailing junk must not hide a KalamDB error.
// A WebSocket frame is one message and nothing else: decodeJSONDocument.
func decodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

// authFailure converts an auth endpoint's error answer.
func (c *Client) authFailure(op, path string, r *httpResult) *Error {
	if e := c.notKalamDB(op, path, r); e != nil {
		return e
	}
	var body AuthErrorBody
	_ = decodeJSON(r.body, &body)
	if guardHint(body.Error) != "" {
		// The connection-protection middleware answered before the
		// handler did: a rate limit or ban, with its wait.
		return middlewareError(op, r)
	}
	msg := body.Message
	if msg == "" {
		msg = snippet(r.body)
	}
	e := &Error{Op: op, Status: r.status, Code: body.Error, Message: msg}
	switch {
	case r.status == http.StatusPreconditionRequired || body.Error == "setup_required":
		e.Kind = KindSetupRequired
	case r.status == http.StatusTooManyRequests:
		e.Kind = KindRateLimited
	case r.status == http.StatusUnauthorized || r.status == http.StatusForbidden:
		e.Kind = KindAuth
		if op == "login" && body.Error == "unauthorized" {
			e.Message = "wrong user or password (" + msg + ")"
		}
		if body.Error == "account_locked" {
			e.Message = "account locked for " + msg
		}
	default:
		e.Kind = KindOther
		if e.Message == "" {
			e.Message = fmt.Sprintf("HTTP %d", r.status)
		}
	}
	return e
}

// Login exchanges user and password for tokens (POST /v1/api/auth/login)
// and makes the new access token the one in use for HTTP and the next
// (re)connect.
func (c *Client) Login(ctx context.Context, user, password string) (*Tokens, error) {
	old := c.currentExpiry()
	var t *Tokens
	err := c.onNodes(ctx, "login", func(*url.URL, bool) (err error) {
		t, err = c.login(ctx, user, password)
		return err
	})
	if err != nil {
		return nil, err
	}
	c.swapTokens(t)
	c.emit(AuthRefreshedEvent{Time: c.now(), Trigger: "login", OldExpiry: old, NewExpiry: t.ExpiresAt, SocketUntouched: c.socketUp()})
	return t, nil
}

func (c *Client) login(ctx context.Context, user, password string) (*Tokens, error) {
	const path = "/v1/api/auth/login"
	r, err := c.do(ctx, "login", http.MethodPost, path, LoginRequest{User: user, Password: password}, "")
	if err != nil {
		return nil, err
	}
	return c.tokensAnswer("login", path, r)
}

func (c *Client) tokensAnswer(op, path string, r *httpResult) (*Tokens, error) {
	if r.status != http.StatusOK {
		return nil, c.authFailure(op, path, r)
	}
	var body LoginResponse
	if err := decodeJSON(r.body, &body); err != nil {
		if e := c.notKalamDB(op, path, r); e != nil {
			return nil, e
		}
		return nil, &Error{Kind: KindNotKalamDB, Op: op, Status: r.status, Message: "answer is not a KalamDB token response: " + snippet(r.body), Err: err}
	}
	t, err := tokensFrom(&body)
	if err != nil {
		return nil, &Error{Kind: KindProtocol, Op: op, Status: r.status, Message: "bad token response", Err: err}
	}
	return t, nil
}

// RefreshToken exchanges a refresh token for a new, rotated pair
// (POST /v1/api/auth/refresh with the refresh token as Bearer) and makes
// the new access token the one in use. The live socket is not touched.
func (c *Client) RefreshToken(ctx context.Context, refreshToken string) (*Tokens, error) {
	const path = "/v1/api/auth/refresh"
	old := c.currentExpiry()
	r, err := c.do(ctx, "refresh", http.MethodPost, path, nil, refreshToken)
	if err != nil {
		return nil, err
	}
	t, err := c.tokensAnswer("refresh", path, r)
	if err != nil {
		c.emit(AuthRefreshedEvent{Time: c.now(), Trigger: "refresh-token", OldExpiry: old, Err: err, SocketUntouched: true})
		return nil, err
	}
	c.swapTokens(t)
	c.emit(AuthRefreshedEvent{Time: c.now(), Trigger: "refresh-token", OldExpiry: old, NewExpiry: t.ExpiresAt, SocketUntouched: c.socketUp()})
	return t, nil
}

func (c *Client) swapTokens(t *Tokens) {
	c.mu.Lock()
	c.setAuthLocked(JWT(t.AccessToken))
	c.authed = true
	c.tokens = t
	c.mu.Unlock()
}

func (c *Client) bearer() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.auth.Token()
}

// Me returns the authenticated user (GET /v1/api/auth/me).
func (c *Client) Me(ctx context.Context) (*MeResponse, error) {
	const path = "/v1/api/auth/me"
	var r *httpResult
	err := c.onNodes(ctx, "me", func(node *url.URL, moved bool) (err error) {
		if err = c.authOnNode(ctx, moved); err == nil {
			r, err = c.doAt(ctx, node, "me", http.MethodGet, path, nil, c.bearer())
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if r.status != http.StatusOK {
		return nil, c.authFailure("me", path, r)
	}
	var me MeResponse
	if err := decodeJSON(r.body, &me); err != nil {
		return nil, &Error{Kind: KindNotKalamDB, Op: "me", Status: r.status, Message: "answer is not a KalamDB user: " + snippet(r.body), Err: err}
	}
	return &me, nil
}

// Health returns the server's health (GET /v1/api/healthcheck). The
// server answers it only to localhost peers.
func (c *Client) Health(ctx context.Context) (*HealthResponse, error) {
	const path = "/v1/api/healthcheck"
	r, err := c.do(ctx, "health", http.MethodGet, path, nil, "")
	if err != nil {
		return nil, err
	}
	if e := c.notKalamDB("health", path, r); e != nil {
		return nil, e
	}
	if r.status == http.StatusForbidden {
		return nil, &Error{Kind: KindOther, Op: "health", Status: r.status, Message: "the health endpoint answers localhost only: " + snippet(r.body)}
	}
	var h HealthResponse
	if err := decodeJSON(r.body, &h); err != nil || r.status != http.StatusOK {
		return nil, &Error{Kind: KindNotKalamDB, Op: "health", Status: r.status, Message: "unexpected health answer: " + snippet(r.body), Err: err}
	}
	return &h, nil
}

// socketUp reports whether an authenticated socket is live.
func (c *Client) socketUp() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn != nil
}

// currentExpiry is the exp claim of the access token in use.
func (c *Client) currentExpiry() time.Time {
	return tokenExpiry(c.bearer())
}

// isHTML reports whether an answer is an HTML page by its content type or
// its first bytes.
func isHTML(contentType string, body []byte) bool {
	lower := bytes.ToLower(body)
	return contentType == "text/html" || bytes.HasPrefix(lower, []byte("<!doctype html")) || bytes.HasPrefix(lower, []byte("<html"))
}
