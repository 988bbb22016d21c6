package client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrorKind classifies an Error so callers (and Hint) can react without
// parsing messages.
type ErrorKind uint8

// Error kinds.
const (
	KindOther         ErrorKind = iota
	KindAuth                    // credentials refused (wrong password, invalid token, locked account)
	KindTokenExpired            // access token past its expiry
	KindUnreachable             // nothing listening, DNS failure, connection reset
	KindTLS                     // handshake or certificate problem, or http/https mismatch
	KindNotKalamDB              // HTML, 404 on /v1/api, or otherwise not a KalamDB answer
	KindSQL                     // the server refused a statement (Code holds its code)
	KindProtocol                // malformed or oversized frame, unexpected message
	KindTimeout                 // deadline exceeded
	KindClosed                  // the client or subscription is closed
	KindRateLimited             // 429 or rate_limited
	KindSetupRequired           // the server has no root password yet
	KindSubscription            // the server refused a subscription
	KindProvider                // the AuthProvider failed
)

// String names the kind.
func (k ErrorKind) String() string {
	switch k {
	case KindAuth:
		return "auth"
	case KindTokenExpired:
		return "token expired"
	case KindUnreachable:
		return "unreachable"
	case KindTLS:
		return "tls"
	case KindNotKalamDB:
		return "not kalamdb"
	case KindSQL:
		return "sql"
	case KindProtocol:
		return "protocol"
	case KindTimeout:
		return "timeout"
	case KindClosed:
		return "closed"
	case KindRateLimited:
		return "rate limited"
	case KindSetupRequired:
		return "setup required"
	case KindSubscription:
		return "subscription"
	case KindProvider:
		return "auth provider"
	}
	return "other"
}

// Error is the error type of every client operation. Messages never carry
// secrets.
type Error struct {
	Kind    ErrorKind
	Op      string // "login", "query", "connect", "subscribe", …
	Status  int    // HTTP status, or WebSocket close code for connection errors
	Code    string // server error code (TOKEN_EXPIRED, INVALID_SQL, unauthorized, …)
	Message string // what happened, in words
	Err     error  // underlying cause
	// RetryAfter is how long the server asked us to wait (its Retry-After
	// header on a 429 or 503); reconnects wait at least that long.
	RetryAfter time.Duration

	hint string // overrides Hint's advice for Kind when the cause is known better
}

// maxRetryAfter bounds how long a server's Retry-After can hold off a
// reconnect.
const maxRetryAfter = 10 * time.Minute

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// retryAfterOf returns the Retry-After an error carries, if any.
func retryAfterOf(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// Error formats "op: message [code]: cause".
func (e *Error) Error() string {
	s := e.Op
	if s != "" {
		s += ": "
	}
	s += e.Message
	if e.Code != "" {
		s += " [" + e.Code + "]"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrClientClosed is returned by calls on a closed Client.
var ErrClientClosed = &Error{Kind: KindClosed, Message: "client is closed"}

func kindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindOther
}

// IsAuthError reports whether err means the credentials were refused
// (including expired tokens).
func IsAuthError(err error) bool {
	k := kindOf(err)
	return k == KindAuth || k == KindTokenExpired
}

// IsTokenExpired reports whether err means the access token has expired.
func IsTokenExpired(err error) bool { return kindOf(err) == KindTokenExpired }

// IsUnreachable reports whether err means the server could not be reached.
func IsUnreachable(err error) bool { return kindOf(err) == KindUnreachable }

// IsTLS reports whether err is a TLS problem.
func IsTLS(err error) bool { return kindOf(err) == KindTLS }

// IsNotKalamDB reports whether the peer answered but is not KalamDB.
func IsNotKalamDB(err error) bool { return kindOf(err) == KindNotKalamDB }

// IsRateLimited reports whether the server (or its middleware) is rate
// limiting or refusing connections for now; retry later.
func IsRateLimited(err error) bool { return kindOf(err) == KindRateLimited }

// IsSQLError reports whether the server refused a statement; the
// *Error's Code holds KalamDB's code (INVALID_SQL, TABLE_NOT_FOUND, …).
func IsSQLError(err error) bool { return kindOf(err) == KindSQL }

// Hint returns a short suggestion of what to try next, or "" if none.
func Hint(err error) string {
	var e *Error
	if !errors.As(err, &e) {
		return ""
	}
	if e.hint != "" {
		return e.hint
	}
	switch e.Kind {
	case KindAuth:
		switch e.Code {
		case "account_locked":
			return "the account is locked after repeated failures; wait and retry"
		case CodeTokenMalformed:
			return "paste the access_token value of a login response, or log in with a user and password"
		case CodeTokenIsRefresh:
			return "paste the access token, or log in with a user and password"
		case CodeTokenExpired:
			return "get a fresh token (log in again, or refresh it with the refresh token)"
		case CodeNoCredentials:
			return "choose password or JWT auth (or a token command or file): KalamDB authenticates every socket"
		case CodeClockSkew:
			return "sync this machine's clock (NTP): expiry times and refresh schedules depend on it"
		case TypeAuthError:
			return "the server refuses expired, revoked, refresh or role-changed tokens alike; log in again for a fresh token"
		}
		return "check the user name and password, or log in again for a fresh token"
	case KindTokenExpired:
		return "the access token expired: refresh it (RefreshAuth) or log in again"
	case KindUnreachable:
		return "is the server running at that address? check host, port and firewall"
	case KindTLS:
		return "check http vs https (ws vs wss), and the profile's TLS settings (ca_file, insecure)"
	case KindNotKalamDB:
		return "the URL points at something that is not KalamDB: check host, port and path"
	case KindRateLimited:
		return "the server is rate limiting; wait a moment and retry"
	case KindSetupRequired:
		return "run the server's initial setup (POST /v1/api/auth/setup) first"
	case KindTimeout:
		return "the server did not answer in time; check the network or raise the timeout"
	case KindProvider:
		return "the credentials provider failed; check its source (file, env, command)"
	case KindProtocol:
		return "the server sent something unexpected; inspect the frame tap"
	case KindSQL, KindSubscription:
		switch e.Code {
		case "INVALID_SQL":
			return "check the statement; KalamDB wants namespace.table names (subscriptions: SELECT … FROM ns.table)"
		case "NOT_FOUND", "TABLE_NOT_FOUND":
			return "check the namespace and table name"
		case "UNAUTHORIZED", "PERMISSION_DENIED", "INSUFFICIENT_PERMISSIONS":
			return "this user's role may not access that table; try a dba user"
		case "SUBSCRIPTION_LIMIT_EXCEEDED":
			return "too many subscriptions for this user; unsubscribe some first"
		case "UNSUPPORTED":
			return "last_rows must not exceed batch_size; at most 100 subscriptions per socket"
		}
	}
	return ""
}

// classifyNetErr turns a transport error into an *Error with a useful message.
func classifyNetErr(op, target string, err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if cause, ok := wsDialCause(err); ok {
		return classifyUpgradeErr(op, target, cause)
	}
	var (
		certErr   *tls.CertificateVerificationError
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		invalid   x509.CertificateInvalidError
		recordErr tls.RecordHeaderError
		dnsErr    *net.DNSError
		netErr    net.Error
	)
	switch {
	case errors.As(err, &recordErr):
		return &Error{Kind: KindTLS, Op: op, Message: fmt.Sprintf("TLS handshake with %s failed: the server speaks plain HTTP? use http:// or ws://", target), Err: err}
	// Certificate remedies name the profile keys (profiles.toml) behind
	// WithCAFile and WithInsecureSkipVerify.
	case errors.As(err, &hostErr):
		return &Error{Kind: KindTLS, Op: op, Message: fmt.Sprintf("certificate of %s is for another host name", target), Err: err,
			hint: "the certificate does not name the host in the URL: use a name it lists, or set insecure = true in the profile for a local server"}
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return &Error{Kind: KindTLS, Op: op, Message: fmt.Sprintf("certificate of %s has expired or is not valid yet", target), Err: err,
			hint: "renew the server's certificate, or check this machine's clock; insecure = true in the profile skips the check for a local server"}
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &invalid):
		return &Error{Kind: KindTLS, Op: op, Message: fmt.Sprintf("certificate of %s not trusted", target), Err: err,
			hint: "the certificate is self-signed or from an unknown CA: set ca_file to that CA's PEM file in the profile, or insecure = true for a local server"}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &Error{Kind: KindUnreachable, Op: op, Message: fmt.Sprintf("connection refused: is the server running at %s?", target), Err: err}
	case errors.As(err, &dnsErr):
		return &Error{Kind: KindUnreachable, Op: op, Message: fmt.Sprintf("cannot resolve host of %s", target), Err: err}
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return &Error{Kind: KindUnreachable, Op: op, Message: fmt.Sprintf("%s reset the connection: the server (or a firewall) refused it, or it is overloaded or restarting", target), Err: err}
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return &Error{Kind: KindUnreachable, Op: op, Message: fmt.Sprintf("no route to %s: check the network", target), Err: err}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{Kind: KindUnreachable, Op: op, Message: fmt.Sprintf("%s closed the connection without answering: the server crashed, or a proxy or firewall cut it", target), Err: err}
	case errors.As(err, &netErr) && netErr.Timeout():
		return &Error{Kind: KindTimeout, Op: op, Message: fmt.Sprintf("%s did not answer in time", target), Err: err}
	}
	if strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		return &Error{Kind: KindTLS, Op: op, Message: fmt.Sprintf("%s speaks plain HTTP: use http:// (or ws://) instead of https://", target), Err: err}
	}
	if isTLSText(err) {
		return &Error{Kind: KindTLS, Op: op, Message: fmt.Sprintf("TLS problem talking to %s", target), Err: err}
	}
	return &Error{Kind: KindOther, Op: op, Message: fmt.Sprintf("request to %s failed", target), Err: err}
}

// isTLSText catches TLS failures the standard library reports only as
// strings (e.g. "http: server gave HTTP response to HTTPS client").
func isTLSText(err error) bool {
	s := err.Error()
	for _, sub := range []string{"server gave HTTP response to HTTPS client", "tls: ", "x509: "} {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// tooBigHint is the advice for a frame over the socket's read limit: the
// client has closed with 1009 and reconnects (if WithReconnect allows).
const tooBigHint = "reconnecting resumes the subscriptions; if it recurs, subscribe with a smaller batch_size or select fewer columns"
