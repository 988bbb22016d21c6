package app

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/internal/vtscreen"
	"github.com/kalamdash/kalamdash/kalamtest"
	"github.com/kalamdash/kalamdash/session"
	"github.com/kalamdash/kalamdash/theme"
	"github.com/kalamdash/kalamdash/ui"
)

// The bad-input catalogue: every way a user can point kalamdash at the
// wrong thing, or a peer can misbehave, run for real over loopback, each
// with the exact words the user reads. The README's Troubleshooting table
// is generated from the same cases (go test -run TestCatalogueREADME
// -catalogue.update), and TestCatalogueREADME fails when they drift.

// readmePath is the README whose Troubleshooting table the catalogue generates.
const readmePath = "../../README.md"

var updateCatalogue = flag.Bool("catalogue.update", false, "rewrite the README's Troubleshooting table from the catalogue")

// Where a catalogue message appears on screen.
const (
	whereLogin  = "login form"
	whereFooter = "footer"
	whereStatus = "status bar"
	whereToken  = "Token view"
)

// catUser and catPassword are the kalamtest account the cases log in as.
const (
	catUser     = "alice"
	catPassword = "catalogue-pw-1"
)

// catalogueCase is one bad input and what the user sees because of it.
type catalogueCase struct {
	Name    string // subtest name
	Input   string // what the user typed or what the peer did (README)
	Where   string // login form, footer, status bar
	Message string // exact text; loopback ports read PORT
	Hint    string // the hint shown with it ("" if none)
	run     func(t *testing.T) (msg, hint string)
}

var portRE = regexp.MustCompile(`(127\.0\.0\.1|localhost|\[::1\]):(\d+)`)

var resetRE = regexp.MustCompile(`(Post|Get) ("[^"]*"): [^"]*connection reset by peer`)

// normalise replaces the loopback ports tests listen on (random, from the
// ephemeral range) with PORT; ports a user typed (8080, 99999) stay.
func normalise(s string) string {
	// A reset arrives during connect or during the first read, by timing.
	s = resetRE.ReplaceAllString(s, "$1 $2: connection reset by peer")
	return portRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := portRE.FindStringSubmatch(m)
		if n, err := strconv.Atoi(sub[2]); err == nil && n >= 10000 && n <= 65535 {
			return sub[1] + ":PORT"
		}
		return m
	})
}

// newCatServer starts a kalamtest server with the catalogue's user.
func newCatServer(t *testing.T, opts ...kalamtest.Option) *kalamtest.Server {
	t.Helper()
	opts = append([]kalamtest.Option{kalamtest.WithUser(catUser, catPassword, "user")}, opts...)
	srv, err := kalamtest.NewServer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// newCatBackend is the dashboard's backend over a real session manager,
// as runDashboard builds it.
func newCatBackend(t *testing.T, opts ...session.ManagerOption) *Backend {
	t.Helper()
	b := NewBackend(session.NewManager(opts...), nil, nil)
	t.Cleanup(func() { b.Close() })
	return b
}

// loginFails submits req as the login form does and returns what the
// form then shows: the error text and its hint (ui handleOpened).
func loginFails(t *testing.T, b *Backend, req ui.LoginRequest) (string, string) {
	t.Helper()
	if req.Name == "" {
		req.Name = "local"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := b.Open(ctx, req)
	if err == nil {
		c.Close()
		t.Fatalf("login to %s succeeded; want a failure", req.URL)
	}
	hint := ""
	if h, ok := err.(interface{ Hint() string }); ok {
		hint = h.Hint()
	}
	return err.Error(), hint
}

func passwordLogin(url, password string) ui.LoginRequest {
	return ui.LoginRequest{URL: url, Auth: "password", User: catUser, Password: password}
}

func jwtLogin(url, token string) ui.LoginRequest {
	return ui.LoginRequest{URL: url, Auth: "jwt", Token: token}
}

// passwordFails is the common case: a password login to url fails.
func passwordFails(t *testing.T, url string) (string, string) {
	return loginFails(t, newCatBackend(t), passwordLogin(url, catPassword))
}

// catTokens logs in to srv directly and returns the token pair.
func catTokens(t *testing.T, srv *kalamtest.Server) *client.Tokens {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := client.Connect(ctx, srv.URL, client.WithLazyConnect(true))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	toks, err := cl.Login(ctx, catUser, catPassword)
	if err != nil {
		t.Fatal(err)
	}
	return toks
}

// openCat logs in to url with the catalogue's password and returns the
// live connection.
func openCat(t *testing.T, b *Backend, url string) liveConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req := passwordLogin(url, catPassword)
	req.Name = "local"
	c, err := b.Open(ctx, req)
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	lc, ok := c.(liveConn)
	if !ok {
		t.Fatalf("a live connection (%T) lacks controls or SQL", c)
	}
	if _, ok := c.(ui.Faults); ok {
		t.Fatalf("a connection to %s offers the demo server's fault controls", url)
	}
	return lc
}

// nextNotice waits for the next footer notice (a session NoticeEvent as
// the ui receives it) and returns its text and hint.
func nextNotice(t *testing.T, b *Backend) (string, string) {
	t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for {
		select {
		case e := <-b.Events():
			if e.Kind == ui.EventNotice {
				return e.Text, e.Hint
			}
		case <-deadline.C:
			t.Fatal("no footer notice within 20s")
			return "", ""
		}
	}
}

// drainEvents discards queued ui events (the login's own).
func drainEvents(b *Backend) {
	for {
		select {
		case <-b.Events():
		default:
			return
		}
	}
}

// streamFault logs in, lets inject misbehave on the live socket, and
// returns the footer notice it causes.
func streamFault(t *testing.T, inject func(srv *kalamtest.Server)) (string, string) {
	t.Helper()
	srv := newCatServer(t)
	return streamFaultVia(t, srv, srv.URL, inject)
}

// streamFaultVia is streamFault for a dashboard connected to srv through
// url (a proxy in front of it).
func streamFaultVia(t *testing.T, srv *kalamtest.Server, url string, inject func(srv *kalamtest.Server)) (string, string) {
	t.Helper()
	b := newCatBackend(t)
	c := openCat(t, b, url)
	testkit.Poll(t, "connected", c.Snapshot, func(s ui.Snapshot) bool { return s.State == "connected" })
	drainEvents(b)
	inject(srv)
	return nextNotice(t, b)
}

// sendRaw queues payload on every socket of srv, failing if none is open.
func sendRaw(t *testing.T, srv *kalamtest.Server, op client.Opcode, payload []byte) {
	t.Helper()
	if n := srv.SendRaw(nil, op, payload); n != 1 {
		t.Fatalf("SendRaw reached %d sockets, want 1", n)
	}
}

// freePort returns a loopback address nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// httpPeer starts a plain HTTP server (not KalamDB) answering every
// request with status, content type and body.
func httpPeer(t *testing.T, status int, ctype, body string) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(s.Close)
	return s.URL
}

// tlsFront starts an HTTPS reverse proxy (self-signed) in front of srv.
func tlsFront(t *testing.T, srv *kalamtest.Server) *httptest.Server {
	t.Helper()
	target, _ := url.Parse(srv.URL)
	s := httptest.NewUnstartedServer(httputil.NewSingleHostReverseProxy(target))
	// Handshake failures are the point of these cases; keep them quiet.
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// tlsFrontCert is tlsFront serving cert instead of httptest's own.
func tlsFrontCert(t *testing.T, srv *kalamtest.Server, cert tls.Certificate) *httptest.Server {
	t.Helper()
	target, _ := url.Parse(srv.URL)
	s := httptest.NewUnstartedServer(httputil.NewSingleHostReverseProxy(target))
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// expiredCert is a self-signed certificate for 127.0.0.1 that expired on
// 2 January 2020.
func expiredCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "kalamdash catalogue"},
		NotBefore:    time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// timeRE matches the verification time in an expired-certificate error.
var timeRE = regexp.MustCompile(`current time \S+ is`)

// hangUpAfterRequest accepts TCP connections, reads the request head and
// closes without answering: a server dying mid-handshake.
func hangUpAfterRequest(t *testing.T) string {
	t.Helper()
	return "http://" + testkit.ServeTCP(t, func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil || line == "\r\n" {
				return
			}
		}
	})
}

// hangUpOnUpgrade fronts srv with a server that passes HTTP API calls
// through but closes the TCP connection on the WebSocket upgrade.
func hangUpOnUpgrade(t *testing.T, srv *kalamtest.Server) string {
	t.Helper()
	target, _ := url.Parse(srv.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/v1/ws") {
			rp.ServeHTTP(w, r)
			return
		}
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(s.Close)
	return s.URL
}

// upgradeStripper drops the Upgrade and Connection headers, as a proxy
// that does not know WebSockets does.
func upgradeStripper(t *testing.T, srv *kalamtest.Server) string {
	return testkit.RewritingProxy(t, srv.URL, func(r *http.Request) {
		r.Header.Del("Upgrade")
		r.Header.Del("Connection")
	})
}

// crowdedAddress forwards to a server capped at one socket per address,
// naming the same outside address (X-Forwarded-For, trusted from a
// loopback peer) for every request, and takes that address's one socket
// first: the next upgrade from it is refused.
func crowdedAddress(t *testing.T) string {
	t.Helper()
	proxy := testkit.RewritingProxy(t, newCatServer(t, kalamtest.WithMaxConnectionsPerIP(1)).URL, func(r *http.Request) {
		r.Header.Set("X-Forwarded-For", "203.0.113.7")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	first, err := client.Connect(ctx, proxy, client.WithAuth(client.Basic(catUser, catPassword)))
	if err != nil {
		t.Fatalf("the address's first socket: %v", err)
	}
	t.Cleanup(func() { first.Close() })
	return proxy
}

// reconnectThrottled connects through throttledAddress's proxy (the
// first upgrade takes the address's one token), then drops the socket:
// the reconnect's upgrade is refused.
func reconnectThrottled(t *testing.T) (string, string) {
	t.Helper()
	srv, url := throttledServer(t, 0, true)
	return streamFaultVia(t, srv, url, func(srv *kalamtest.Server) { srv.DropAll() })
}

// throttledAddress fronts a server whose connection protection allows an
// outside address one request per second, on a frozen clock so the bucket
// never refills. Requests through the proxy come from that address
// (X-Forwarded-For, trusted from a loopback peer): only the upgrades when
// upgradesOnly (the login stays loopback, which is exempt), else all.
// spent requests from the address go first: the first takes its one
// token, each later one is a violation, and the 10th violation bans it.
func throttledAddress(t *testing.T, spent int, upgradesOnly bool) string {
	t.Helper()
	_, url := throttledServer(t, spent, upgradesOnly)
	return url
}

// throttledServer is throttledAddress, also returning the server.
func throttledServer(t *testing.T, spent int, upgradesOnly bool) (*kalamtest.Server, string) {
	t.Helper()
	const outside = "203.0.113.8"
	frozen := time.Now()
	srv := newCatServer(t, kalamtest.WithClock(func() time.Time { return frozen }), kalamtest.WithRequestRateLimit(1))
	for range spent {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/health", nil)
		req.Header.Set("X-Forwarded-For", outside)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	return srv, testkit.RewritingProxy(t, srv.URL, func(r *http.Request) {
		if !upgradesOnly || r.URL.Path == "/v1/ws" {
			r.Header.Set("X-Forwarded-For", outside)
		}
	})
}

// tlsHangUp completes nothing: it accepts TCP and closes during the TLS
// handshake (after reading the ClientHello).
func tlsHangUp(t *testing.T) string {
	t.Helper()
	return "https://" + testkit.ServeTCP(t, func(c net.Conn) {
		buf := make([]byte, 512)
		_, _ = c.Read(buf)
		c.Close()
	})
}

// corruptGzip is a real gzip'd KalamDB message with its deflate data
// damaged, so the CRC or the inflater fails.
func corruptGzip(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(`{"type":"change","subscription_id":"s1","change_type":"insert","rows":[{"id":"1","_seq":"7"}]}`))
	zw.Close()
	b := buf.Bytes()
	for i := 12; i < len(b)-8; i += 3 {
		b[i] ^= 0x5a
	}
	return b
}

// subscribedFault is streamFault with a live subscription, whose id it
// passes to inject.
func subscribedFault(t *testing.T, inject func(srv *kalamtest.Server, sub string)) (string, string) {
	t.Helper()
	srv := newCatServer(t, kalamtest.WithUser("catadmin", "catadmin-pw", "dba"))
	srv.MustExec("catadmin", "CREATE NAMESPACE IF NOT EXISTS cat")
	srv.MustExec("catadmin", "CREATE USER TABLE cat.items (id BIGINT PRIMARY KEY, name TEXT)")
	b := newCatBackend(t)
	c := openCat(t, b, srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sub, err := c.Subscribe(ctx, "SELECT * FROM cat.items", ui.SubOptions{})
	if err != nil {
		t.Fatal(err)
	}
	testkit.Poll(t, "subscription ready", c.Snapshot, func(s ui.Snapshot) bool {
		for _, x := range s.Subs {
			if x.ID == sub && x.Status == "ready" {
				return true
			}
		}
		return false
	})
	drainEvents(b)
	inject(srv, sub)
	msg, hint := nextNotice(t, b)
	// Subscription ids are random; the catalogue names them generically.
	return strings.ReplaceAll(msg, sub, "SUBSCRIPTION"), hint
}

// screenFault runs the real dashboard (teatest, 140 columns so the status
// bar has room for close-code hints), logs in, lets inject misbehave and
// returns the status-bar segment starting with want.
func screenFault(t *testing.T, want string, inject func(srv *kalamtest.Server)) (string, string) {
	t.Helper()
	srv := newCatServer(t)
	return screenFaultAt(t, want, srv.URL, func() { inject(srv) })
}

// screenFaultAt is screenFault against url (a proxy in front of a server).
func screenFaultAt(t *testing.T, want, url string, inject func()) (string, string) {
	t.Helper()
	// A slow reconnect keeps the disconnected state on screen.
	b := newCatBackend(t, session.WithClientOptions(client.WithReconnect(time.Hour, time.Hour, 0)))
	m := ui.New(b, ui.WithStyles(theme.NoColor(), true), ui.WithLogin(ui.LoginDefaults{
		URL: url, Auth: "password", User: catUser, Password: catPassword}))
	const w, h = 140, 30
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h))
	scr := vtscreen.New(tm.Output(), w, h)
	defer scr.Close()
	scr.WaitFor(t, 10*time.Second, "server URL")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	scr.WaitFor(t, 15*time.Second, "● connected")
	inject()
	screen := scr.WaitFor(t, 15*time.Second, "↻ reconnecting", want)
	tm.Send(tea.KeyPressMsg{Code: 'q', Text: "q"})
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	// The status bar is the line with the state badge; its segments are
	// separated by " │ ".
	for _, line := range strings.Split(screen, "\n") {
		if !strings.Contains(line, "↻ reconnecting") {
			continue
		}
		for _, seg := range strings.Split(line, " │ ") {
			if seg = strings.TrimSpace(seg); strings.HasPrefix(seg, want) {
				return seg, ""
			}
		}
	}
	t.Fatalf("no status-bar segment %q on screen:\n%s", want, screen)
	return "", ""
}

// catProxy starts a fault proxy in front of srv.
func catProxy(t *testing.T, srv *kalamtest.Server) *kalamtest.Proxy {
	t.Helper()
	p, err := kalamtest.NewProxy(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// silentAfterUpgrade fronts srv with a server that passes HTTP API calls
// through but, on the WebSocket upgrade, answers 101 and then says
// nothing: the client waits for auth_success in vain.
func silentAfterUpgrade(t *testing.T, srv *kalamtest.Server) string {
	t.Helper()
	target, _ := url.Parse(srv.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/v1/ws") {
			rp.ServeHTTP(w, r)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
			base64.StdEncoding.EncodeToString(sum[:]))
		brw.Flush()
		// Hold the socket open, silent, until the client gives up.
		io.Copy(io.Discard, conn)
		conn.Close()
	}))
	t.Cleanup(s.Close)
	return s.URL
}

// tokenPhase logs in and returns what the Token view shows about the
// access token: its phase and whether the connection stayed up.
func tokenPhase(t *testing.T, b *Backend, url string) (string, string) {
	t.Helper()
	c := openCat(t, b, url)
	s := testkit.Poll(t, "connected", c.Snapshot, func(s ui.Snapshot) bool { return s.State == "connected" && s.Token.Phase != "" })
	return "phase " + s.Token.Phase, ui.ClockSkewNotice(s.Token.ClockSkew)
}

// catalogue is the table: README and test share it.
func catalogue() []catalogueCase {
	return []catalogueCase{
		{Name: "empty-url", Input: "empty server URL", Where: whereLogin,
			Message: "profile \"local\": no server URL: set url (e.g. http://127.0.0.1:8080) or KALAMDB_URL",
			Hint:    "",
			run:     func(t *testing.T) (string, string) { return passwordFails(t, "") }},
		{Name: "no-scheme", Input: "`localhost:8080` (no scheme)", Where: whereLogin,
			Message: "profile \"local\": url \"localhost:8080\" is not a server URL: want e.g. http://127.0.0.1:8080",
			Hint:    "",
			run:     func(t *testing.T) (string, string) { return passwordFails(t, "localhost:8080") }},
		{Name: "bad-scheme", Input: "`ftp://localhost:8080` (unsupported scheme)", Where: whereLogin,
			Message: "profile \"local\": url \"ftp://localhost:8080\": scheme \"ftp\" is not supported: use http, https, ws or wss",
			Hint:    "",
			run:     func(t *testing.T) (string, string) { return passwordFails(t, "ftp://localhost:8080") }},
		{Name: "no-host", Input: "`http://` (no host)", Where: whereLogin,
			Message: "profile \"local\": url \"http://\" is not a server URL: want e.g. http://127.0.0.1:8080",
			Hint:    "",
			run:     func(t *testing.T) (string, string) { return passwordFails(t, "http://") }},
		{Name: "space-in-host", Input: "`http://local host:8080` (space in the host)", Where: whereLogin,
			Message: "profile \"local\": url \"http://local host:8080\" is not a server URL: want e.g. http://127.0.0.1:8080",
			Hint:    "",
			run:     func(t *testing.T) (string, string) { return passwordFails(t, "http://local host:8080") }},
		{Name: "port-not-number", Input: "`http://localhost:80a` (port not a number)", Where: whereLogin,
			Message: "profile \"local\": url \"http://localhost:80a\" is not a server URL: want e.g. http://127.0.0.1:8080",
			Hint:    "",
			run:     func(t *testing.T) (string, string) { return passwordFails(t, "http://localhost:80a") }},
		{Name: "port-out-of-range", Input: "`http://127.0.0.1:99999` (port out of range)", Where: whereLogin,
			Message: "connect: port 99999 in \"http://127.0.0.1:99999\" is out of range (1–65535)",
			Hint:    "",
			run:     func(t *testing.T) (string, string) { return passwordFails(t, "http://127.0.0.1:99999") }},
		{Name: "credentials-in-url", Input: "`http://alice:pw@localhost:8080` (password in the URL)", Where: whereLogin,
			Message: "connect: credentials in the URL are not used; pass them as Basic auth instead",
			Hint:    "",
			run:     func(t *testing.T) (string, string) { return passwordFails(t, "http://alice:pw@localhost:8080") }},
		{Name: "refused", Input: "wrong port: nothing listens there", Where: whereLogin,
			Message: "login: connection refused: is the server running at http://127.0.0.1:PORT?: Post \"http://127.0.0.1:PORT/v1/api/auth/login\": dial tcp 127.0.0.1:PORT: connect: connection refused",
			Hint:    "is the server running at that address? check host, port and firewall",
			run:     func(t *testing.T) (string, string) { return passwordFails(t, "http://"+freePort(t)) }},
		{Name: "node-list-empty-entry", Input: "`http://127.0.0.1:8080,,http://127.0.0.1:8081` (an empty entry in a cluster's node list)", Where: whereLogin,
			Message: "profile \"local\": url \"http://127.0.0.1:8080,,http://127.0.0.1:8081\" lists cluster nodes, but node 2 of 3 in the URL list is empty: separate node URLs with single commas, e.g. http://127.0.0.1:8080,http://127.0.0.1:8081",
			Hint:    "",
			run: func(t *testing.T) (string, string) {
				return passwordFails(t, "http://127.0.0.1:8080,,http://127.0.0.1:8081")
			}},
		{Name: "all-nodes-down", Input: "a cluster's node list where no node listens", Where: whereLogin,
			Message: "connect: all 2 nodes are down (127.0.0.1:PORT: connection refused; 127.0.0.1:PORT: connection refused)",
			Hint:    "start one of the nodes, or check the URL list; a connection that was up keeps trying them in turn",
			run: func(t *testing.T) (string, string) {
				return passwordFails(t, "http://"+freePort(t)+",http://"+freePort(t))
			}},
		{Name: "https-to-http", Input: "`https://` to a plain-HTTP server", Where: whereLogin,
			Message: "login: https://127.0.0.1:PORT speaks plain HTTP: use http:// (or ws://) instead of https://: Post \"https://127.0.0.1:PORT/v1/api/auth/login\": http: server gave HTTP response to HTTPS client",
			Hint:    "check http vs https (ws vs wss), and the profile's TLS settings (ca_file, insecure)",
			run: func(t *testing.T) (string, string) {
				srv := newCatServer(t)
				return passwordFails(t, "https://"+srv.Addr())
			}},
		{Name: "http-to-https", Input: "`http://` to an HTTPS server", Where: whereLogin,
			Message: "login: 127.0.0.1:PORT speaks HTTPS: use https:// (or wss://) instead of http://",
			Hint:    "check http vs https (ws vs wss), and the profile's TLS settings (ca_file, insecure)",
			run: func(t *testing.T) (string, string) {
				front := tlsFront(t, newCatServer(t))
				return passwordFails(t, "http://"+front.Listener.Addr().String())
			}},
		{Name: "untrusted-cert", Input: "`https://` to a self-signed server without a CA file", Where: whereLogin,
			Message: "login: certificate of https://127.0.0.1:PORT not trusted: Post \"https://127.0.0.1:PORT/v1/api/auth/login\": tls: failed to verify certificate: x509: certificate signed by unknown authority",
			Hint:    "the certificate is self-signed or from an unknown CA: set ca_file to that CA's PEM file in the profile, or insecure = true for a local server",
			run: func(t *testing.T) (string, string) {
				front := tlsFront(t, newCatServer(t))
				return passwordFails(t, front.URL)
			}},
		{Name: "cert-wrong-host", Input: "`https://localhost:…` to a server whose certificate does not name localhost (host name mismatch)", Where: whereLogin,
			Message: "login: certificate of https://localhost:PORT is for another host name: Post \"https://localhost:PORT/v1/api/auth/login\": tls: failed to verify certificate: x509: certificate is valid for example.com, *.example.com, not localhost",
			Hint:    "the certificate does not name the host in the URL: use a name it lists, or set insecure = true in the profile for a local server",
			run: func(t *testing.T) (string, string) {
				front := tlsFront(t, newCatServer(t))
				return passwordFails(t, "https://localhost:"+strconv.Itoa(front.Listener.Addr().(*net.TCPAddr).Port))
			}},
		{Name: "cert-expired", Input: "`https://` to a server whose certificate has expired", Where: whereLogin,
			Message: "login: certificate of https://127.0.0.1:PORT has expired or is not valid yet: Post \"https://127.0.0.1:PORT/v1/api/auth/login\": tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time TIME is after 2020-01-02T00:00:00Z",
			Hint:    "renew the server's certificate, or check this machine's clock; insecure = true in the profile skips the check for a local server",
			run: func(t *testing.T) (string, string) {
				front := tlsFrontCert(t, newCatServer(t), expiredCert(t))
				msg, hint := passwordFails(t, front.URL)
				return timeRE.ReplaceAllString(msg, "current time TIME is"), hint
			}},
		{Name: "tls-hangup", Input: "server closes the connection during the TLS handshake", Where: whereLogin,
			Message: "login: https://127.0.0.1:PORT reset the connection: the server (or a firewall) refused it, or it is overloaded or restarting: Post \"https://127.0.0.1:PORT/v1/api/auth/login\": connection reset by peer",
			Hint:    "is the server running at that address? check host, port and firewall",
			run:     func(t *testing.T) (string, string) { return passwordFails(t, tlsHangUp(t)) }},
		{Name: "not-kalamdb-404", Input: "another HTTP service answering 404 JSON", Where: whereLogin,
			Message: "login: http://127.0.0.1:PORT/v1/api/auth/login answered 404: wrong path prefix, or not a KalamDB server",
			Hint:    "the URL points at something that is not KalamDB: check host, port and path",
			run: func(t *testing.T) (string, string) {
				return passwordFails(t, httpPeer(t, 404, "application/json", `{"error":"not found"}`))
			}},
		{Name: "not-kalamdb-200-text", Input: "another HTTP service answering 200 plain text", Where: whereLogin,
			Message: "login: answer is not a KalamDB token response: OK: invalid character 'O' looking for beginning of value",
			Hint:    "the URL points at something that is not KalamDB: check host, port and path",
			run: func(t *testing.T) (string, string) {
				return passwordFails(t, httpPeer(t, 200, "text/plain", "OK"))
			}},
		{Name: "html-502", Input: "reverse proxy answering a 502 HTML error page (KalamDB behind it down)", Where: whereLogin,
			Message: "login: the proxy at 127.0.0.1:PORT answered HTTP 502 Bad Gateway: the KalamDB server behind it is down or unreachable",
			Hint:    "is the server running at that address? check host, port and firewall",
			run: func(t *testing.T) (string, string) {
				return passwordFails(t, httpPeer(t, 502, "text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>"))
			}},
		{Name: "hangup-mid-request", Input: "server closes the connection after reading the request", Where: whereLogin,
			Message: "login: http://127.0.0.1:PORT closed the connection without answering: the server crashed, or a proxy or firewall cut it: Post \"http://127.0.0.1:PORT/v1/api/auth/login\": EOF",
			Hint:    "is the server running at that address? check host, port and firewall",
			run:     func(t *testing.T) (string, string) { return passwordFails(t, hangUpAfterRequest(t)) }},
		{Name: "hangup-mid-upgrade", Input: "server (or a proxy) closes the connection during the WebSocket upgrade", Where: whereLogin,
			Message: "connect: ws://127.0.0.1:PORT/v1/ws closed the connection during the WebSocket upgrade: a proxy that does not forward WebSockets, or the server crashed: Get \"http://127.0.0.1:PORT/v1/ws\": EOF",
			Hint:    "check that proxies in between pass the Upgrade and Connection headers (WebSockets), and that the server is running",
			run:     func(t *testing.T) (string, string) { return passwordFails(t, hangUpOnUpgrade(t, newCatServer(t))) }},
		{Name: "proxy-drops-upgrade", Input: "a proxy forwards HTTP but drops the WebSocket Upgrade headers", Where: whereLogin,
			Message: "connect: ws://127.0.0.1:PORT/v1/ws answered HTTP 400 to the WebSocket upgrade: a proxy in between does not forward WebSockets",
			Hint:    "check that proxies in between pass the Upgrade and Connection headers (WebSockets), and that the server is running",
			run:     func(t *testing.T) (string, string) { return passwordFails(t, upgradeStripper(t, newCatServer(t))) }},
		{Name: "server-full", Input: "server has no free WebSocket slot (performance.max_connections) or is shutting down", Where: whereLogin,
			Message: "connect: ws://127.0.0.1:PORT/v1/ws refused the socket (503 \"Server shutting down\"): the server is shutting down or all its WebSocket slots are taken",
			Hint:    "wait for the server to come back or free a slot (performance.max_connections); the dashboard keeps retrying",
			run: func(t *testing.T) (string, string) {
				return passwordFails(t, newCatServer(t, kalamtest.WithMaxConnections(0)).URL)
			}},
		{Name: "too-many-from-address", Input: "too many sockets from one address (the per-IP connection guard)", Where: whereLogin,
			Message: "connect: ws://127.0.0.1:PORT/v1/ws refused the socket: too many connections from this address (1 of 1) (Retry-After: 5 s) [TOO_MANY_CONNECTIONS]",
			Hint:    "close other connections from this machine (or from the proxy in front of it); the dashboard keeps retrying",
			run:     func(t *testing.T) (string, string) { return passwordFails(t, crowdedAddress(t)) }},
		// KalamDB's connection protection checks the upgrade like any
		// request from an outside address (backend/src/middleware.rs).
		{Name: "upgrade-rate-limited", Input: "too many requests from this address: the WebSocket upgrade is refused (429)", Where: whereLogin,
			Message: "connect: ws://127.0.0.1:PORT/v1/ws refused the socket: too many requests from this address (retry after 1 s) [RATE_LIMIT_EXCEEDED]",
			Hint:    "slow down, then retry: the server allows each address so many requests per second, and ten refusals get it banned; reconnects wait at least the Retry-After",
			run:     func(t *testing.T) (string, string) { return passwordFails(t, throttledAddress(t, 1, true)) }},
		{Name: "upgrade-ip-banned", Input: "address banned after ten rate-limit refusals: the WebSocket upgrade is refused (429)", Where: whereLogin,
			Message: "connect: ws://127.0.0.1:PORT/v1/ws refused the socket: this address is banned for sending too many requests (retry after 300 s) [IP_BANNED]",
			Hint:    "wait, then retry: a ban lasts 5 minutes, longer after repeated bans (up to 30); reconnects wait at least the Retry-After",
			run:     func(t *testing.T) (string, string) { return passwordFails(t, throttledAddress(t, 11, true)) }},
		{Name: "reconnect-rate-limited", Input: "connection dropped, and the reconnect's upgrade refused: too many requests from this address (429)", Where: whereFooter,
			Message: "connect: ws://127.0.0.1:PORT/v1/ws refused the socket: too many requests from this address (retry after 1 s) [RATE_LIMIT_EXCEEDED]",
			Hint:    "slow down, then retry: the server allows each address so many requests per second, and ten refusals get it banned; reconnects wait at least the Retry-After",
			run:     reconnectThrottled},
		{Name: "login-ip-banned", Input: "address banned after ten rate-limit refusals: the login is refused (429)", Where: whereLogin,
			Message: "login: Your IP has been temporarily banned due to excessive requests (retry after 300 s) [IP_BANNED]",
			Hint:    "wait, then retry: a ban lasts 5 minutes, longer after repeated bans (up to 30); reconnects wait at least the Retry-After",
			run:     func(t *testing.T) (string, string) { return passwordFails(t, throttledAddress(t, 11, false)) }},
		{Name: "wrong-password", Input: "wrong password", Where: whereLogin,
			Message: "login: wrong user or password (Invalid credentials) [unauthorized]",
			Hint:    "check the user name and password, or log in again for a fresh token",
			run: func(t *testing.T) (string, string) {
				srv := newCatServer(t)
				return loginFails(t, newCatBackend(t), passwordLogin(srv.URL, "not-the-password"))
			}},
		{Name: "unknown-user", Input: "user that does not exist", Where: whereLogin,
			Message: "login: wrong user or password (Invalid credentials) [unauthorized]",
			Hint:    "check the user name and password, or log in again for a fresh token",
			run: func(t *testing.T) (string, string) {
				srv := newCatServer(t)
				req := passwordLogin(srv.URL, catPassword)
				req.User = "mallory"
				return loginFails(t, newCatBackend(t), req)
			}},
		{Name: "locked-account", Input: "sixth login after 5 wrong passwords (account locked)", Where: whereLogin,
			Message: "login: account locked for 15 minute(s) [account_locked]",
			Hint:    "the account is locked after repeated failures; wait and retry",
			run: func(t *testing.T) (string, string) {
				srv := newCatServer(t)
				b := newCatBackend(t)
				for range 5 {
					loginFails(t, b, passwordLogin(srv.URL, "wrong"))
				}
				return loginFails(t, b, passwordLogin(srv.URL, catPassword))
			}},
		{Name: "garbage-token", Input: "pasted token that is not a JWT", Where: whereLogin,
			Message: "connect: server refused the token (Invalid credentials): it is not a JWT (a JWT is three base64url parts separated by dots) [token_malformed]",
			Hint:    "paste the access_token value of a login response, or log in with a user and password",
			run: func(t *testing.T) (string, string) {
				srv := newCatServer(t)
				return loginFails(t, newCatBackend(t), jwtLogin(srv.URL, "not-a-jwt"))
			}},
		// ExpireTokens expires the token on the server only: its exp claim is
		// still ahead, so the client cannot say more than the server does.
		// TestCatalogueExpiredByClaim covers a token whose exp has passed.
		{Name: "expired-token", Input: "pasted access token that the server considers expired", Where: whereLogin,
			Message: "connect: server refused the token: Invalid credentials [auth_error]",
			Hint:    "the server refuses expired, revoked, refresh or role-changed tokens alike; log in again for a fresh token",
			run: func(t *testing.T) (string, string) {
				srv := newCatServer(t)
				toks := catTokens(t, srv)
				srv.ExpireTokens()
				return loginFails(t, newCatBackend(t), jwtLogin(srv.URL, toks.AccessToken))
			}},
		{Name: "refresh-as-access", Input: "refresh token pasted as the access token", Where: whereLogin,
			Message: "connect: server refused the token (Invalid credentials): that is a refresh token; use the access token (or let kalamdash rotate with it) [token_is_refresh]",
			Hint:    "paste the access token, or log in with a user and password",
			run: func(t *testing.T) (string, string) {
				srv := newCatServer(t)
				toks := catTokens(t, srv)
				return loginFails(t, newCatBackend(t), jwtLogin(srv.URL, toks.RefreshToken))
			}},
		{Name: "wrong-role", Input: "token whose role no longer matches the user's (role changed)", Where: whereLogin,
			Message: "connect: server refused the token: Invalid credentials [auth_error]",
			Hint:    "the server refuses expired, revoked, refresh or role-changed tokens alike; log in again for a fresh token",
			run: func(t *testing.T) (string, string) {
				srv := newCatServer(t)
				toks := catTokens(t, srv)
				if err := srv.SetRole(catUser, "dba"); err != nil {
					t.Fatal(err)
				}
				return loginFails(t, newCatBackend(t), jwtLogin(srv.URL, toks.AccessToken))
			}},
		// The "3 seconds" is upstream's hard-coded text, whatever the timeout.
		{Name: "no-credentials", Input: "auth `none`: socket opened without credentials (server auth timeout)", Where: whereLogin,
			Message: "connect: no credentials: the server closed the unauthenticated socket (Authentication timeout - no auth message received within 3 seconds) [no_credentials]",
			Hint:    "choose password or JWT auth (or a token command or file): KalamDB authenticates every socket",
			run: func(t *testing.T) (string, string) {
				srv := newCatServer(t, kalamtest.WithAuthTimeout(200*time.Millisecond), kalamtest.WithCheckInterval(20*time.Millisecond))
				return loginFails(t, newCatBackend(t), ui.LoginRequest{URL: srv.URL, Auth: "none"})
			}},
		{Name: "refusing", Input: "server resetting every new connection (overloaded, RefuseFor)", Where: whereLogin,
			Message: "login: http://127.0.0.1:PORT reset the connection: the server (or a firewall) refused it, or it is overloaded or restarting: Post \"http://127.0.0.1:PORT/v1/api/auth/login\": connection reset by peer",
			Hint:    "is the server running at that address? check host, port and firewall",
			run: func(t *testing.T) (string, string) {
				srv := newCatServer(t)
				srv.RefuseFor(time.Minute)
				return passwordFails(t, srv.URL)
			}},
		{Name: "rate-limited", Input: "too many logins from this address (rate limited)", Where: whereLogin,
			Message: "login: Too many authentication attempts. Please retry shortly. [rate_limited]",
			Hint:    "the server is rate limiting; wait a moment and retry",
			run: func(t *testing.T) (string, string) {
				srv := newCatServer(t, kalamtest.WithAuthRateLimit(1))
				b := newCatBackend(t)
				var msg, hint string
				for range 5 {
					msg, hint = loginFails(t, b, passwordLogin(srv.URL, "wrong"))
					if strings.Contains(msg, "429") || strings.Contains(strings.ToLower(msg), "too many") {
						break
					}
				}
				return msg, hint
			}},
		{Name: "corrupt-gzip", Input: "server sends a gzip frame whose data is corrupt", Where: whereFooter,
			Message: "read: undecodable binary frame (101 bytes) on socket 1: gunzip: flate: corrupt input before offset 9",
			Hint:    "the server sent something unexpected; inspect the frame tap",
			run: func(t *testing.T) (string, string) {
				return streamFault(t, func(srv *kalamtest.Server) { sendRaw(t, srv, client.OpBinary, corruptGzip(t)) })
			}},
		{Name: "gzip-bomb", Input: "server sends a gzip frame declaring more than 64 MiB inflated", Where: whereFooter,
			Message: "read: undecodable binary frame (34 bytes) on socket 1: frame inflates beyond 64 MiB (declares 256 MiB)",
			Hint:    "the server sent something unexpected; inspect the frame tap",
			run: func(t *testing.T) (string, string) {
				return streamFault(t, func(srv *kalamtest.Server) {
					sendRaw(t, srv, client.OpBinary, append([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, []byte("any deflate data\x00\x00\x00\x00\x00\x00\x00\x10")...))
				})
			}},
		{Name: "binary-not-gzip", Input: "server sends a binary frame that is not gzip on a JSON socket", Where: whereFooter,
			Message: "read: undecodable binary frame (6 bytes) on socket 1: binary frame on a JSON connection is not gzip",
			Hint:    "the server sent something unexpected; inspect the frame tap",
			run: func(t *testing.T) (string, string) {
				return streamFault(t, func(srv *kalamtest.Server) { sendRaw(t, srv, client.OpBinary, []byte{0x82, 0xa4, 't', 'y', 'p', 'e'}) })
			}},
		{Name: "invalid-json", Input: "server sends a text frame that is not JSON", Where: whereFooter,
			Message: "read: undecodable text frame (19 bytes) on socket 1: not a KalamDB message: unexpected EOF",
			Hint:    "the server sent something unexpected; inspect the frame tap",
			run: func(t *testing.T) (string, string) {
				return streamFault(t, func(srv *kalamtest.Server) { sendRaw(t, srv, client.OpText, []byte(`{"type": "change", `)) })
			}},
		{Name: "invalid-utf8", Input: "server sends a text frame with invalid UTF-8", Where: whereFooter,
			Message: "read: undecodable text frame (19 bytes) on socket 1: text frame is not valid UTF-8",
			Hint:    "the server sent something unexpected; inspect the frame tap",
			run: func(t *testing.T) (string, string) {
				return streamFault(t, func(srv *kalamtest.Server) { sendRaw(t, srv, client.OpText, []byte("\xff\xfe{\"type\":\"change\"}")) })
			}},
		{Name: "no-type", Input: "server sends a JSON message without a type", Where: whereFooter,
			Message: "read: undecodable text frame (17 bytes) on socket 1: message has no type",
			Hint:    "the server sent something unexpected; inspect the frame tap",
			run: func(t *testing.T) (string, string) {
				return streamFault(t, func(srv *kalamtest.Server) { sendRaw(t, srv, client.OpText, []byte(`{"hello":"world"}`)) })
			}},
		{Name: "unknown-type", Input: "server sends a message of an unknown type", Where: whereFooter,
			Message: "(nothing: the frame shows in the inspector as server_gossip)",
			Hint:    "",
			run: func(t *testing.T) (string, string) {
				// Unknown types are ignored (forward compatibility) and only
				// appear in the frame inspector. A malformed frame sent right
				// after proves it: its notice is the first one.
				msg, hint := streamFault(t, func(srv *kalamtest.Server) {
					sendRaw(t, srv, client.OpText, []byte(`{"type":"server_gossip","text":"hello"}`))
					sendRaw(t, srv, client.OpText, []byte(`sentinel`))
				})
				if !strings.Contains(msg, "(8 bytes)") {
					return msg, hint
				}
				return "(nothing: the frame shows in the inspector as server_gossip)", ""
			}},
		{Name: "unknown-change-type", Input: "server sends a change with an unknown change_type", Where: whereFooter,
			Message: "read: change with unknown change_type \"upsert\" for SUBSCRIPTION",
			Hint:    "the server sent something unexpected; inspect the frame tap",
			run: func(t *testing.T) (string, string) {
				return subscribedFault(t, func(srv *kalamtest.Server, sub string) {
					sendRaw(t, srv, client.OpText, []byte(`{"type":"change","subscription_id":"`+sub+`","change_type":"upsert","rows":[]}`))
				})
			}},
		{Name: "error-unknown-subscription", Input: "server sends an error for a subscription the client does not have", Where: whereFooter,
			Message: "server: error for subscription \"ghost\", which this client does not have: query failed [INTERNAL_ERROR]",
			Hint:    "the server sent something unexpected; inspect the frame tap",
			run: func(t *testing.T) (string, string) {
				return streamFault(t, func(srv *kalamtest.Server) {
					sendRaw(t, srv, client.OpText, []byte(`{"type":"error","code":"INTERNAL_ERROR","message":"query failed","subscription_id":"ghost"}`))
				})
			}},
		{Name: "oversized", Input: "server sends a frame over 16 MiB (the read limit)", Where: whereFooter,
			Message: "read: socket 1 received a frame over the 16 MiB read limit; closed with 1009: websocket: message too big",
			Hint:    "reconnecting resumes the subscriptions; if it recurs, subscribe with a smaller batch_size or select fewer columns",
			run: func(t *testing.T) (string, string) {
				return streamFault(t, func(srv *kalamtest.Server) { sendRaw(t, srv, client.OpText, make([]byte, 17<<20)) })
			}},
		{Name: "oversized-close", Input: "server sends a frame over 16 MiB: the close the client sends", Where: whereStatus,
			Message: "close 1009: a frame exceeded the 16 MiB read limit; the dashboard reconnects and resumes",
			Hint:    "",
			run: func(t *testing.T) (string, string) {
				return screenFault(t, "close ", func(srv *kalamtest.Server) { sendRaw(t, srv, client.OpText, make([]byte, 17<<20)) })
			}},
		{Name: "reset-mid-session", Input: "network resets the live connection (proxy reset)", Where: whereStatus,
			Message: "close 1006: connection lost without a close frame (network, proxy or server crash)",
			Hint:    "",
			run: func(t *testing.T) (string, string) {
				p := catProxy(t, newCatServer(t))
				return screenFaultAt(t, "close ", p.URL(), p.Reset)
			}},
		{Name: "blackhole-login", Input: "network black hole (nothing comes back) while logging in (HTTP timeout 300 ms here; 30 s by default)", Where: whereLogin,
			Message: "login: http://127.0.0.1:PORT did not answer in time: Post \"http://127.0.0.1:PORT/v1/api/auth/login\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
			Hint:    "the server did not answer in time; check the network or raise the timeout",
			run: func(t *testing.T) (string, string) {
				p := catProxy(t, newCatServer(t))
				p.SetBlackhole(true)
				b := newCatBackend(t, session.WithClientOptions(client.WithHTTPTimeout(300*time.Millisecond)))
				return loginFails(t, b, passwordLogin(p.URL(), catPassword))
			}},
		{Name: "shutdown-1001", Input: "server shuts down (close 1001)", Where: whereStatus,
			Message: "close 1001: server going away (restart or shutdown): reconnecting resumes subscriptions",
			Hint:    "",
			run: func(t *testing.T) (string, string) {
				return screenFault(t, "close ", func(srv *kalamtest.Server) { srv.Close() })
			}},
		{Name: "shutdown-reconnect", Input: "server shut down and still down when reconnecting", Where: whereFooter,
			Message: "login: connection refused: is the server running at http://127.0.0.1:PORT?: Post \"http://127.0.0.1:PORT/v1/api/auth/login\": dial tcp 127.0.0.1:PORT: connect: connection refused",
			Hint:    "is the server running at that address? check host, port and firewall",
			run: func(t *testing.T) (string, string) {
				return streamFault(t, func(srv *kalamtest.Server) { srv.Close() })
			}},
		{Name: "auth-timeout", Input: "server accepts the socket but never confirms authentication (auth timeout 300 ms here; 5 s by default)", Where: whereLogin,
			Message: "connect: no auth_success within 300ms: failed to get reader: context deadline exceeded",
			Hint:    "the server did not answer in time; check the network or raise the timeout",
			run: func(t *testing.T) (string, string) {
				url := silentAfterUpgrade(t, newCatServer(t))
				b := newCatBackend(t, session.WithClientOptions(client.WithAuthTimeout(300*time.Millisecond)))
				return loginFails(t, b, passwordLogin(url, catPassword))
			}},
		{Name: "server-clock-behind", Input: "server clock 2 h behind: tokens arrive already expired by this machine's clock", Where: whereToken,
			Message: "phase dead",
			Hint:    "clock skew: the server's clock is about 2h0m0s behind this machine's; countdowns and refresh times are off by that much (sync the clocks: NTP)",
			run: func(t *testing.T) (string, string) {
				srv := newCatServer(t, kalamtest.WithClock(func() time.Time { return time.Now().Add(-2 * time.Hour) }), kalamtest.WithAccessTTL(time.Hour))
				return tokenPhase(t, newCatBackend(t), srv.URL)
			}},
		{Name: "server-clock-ahead", Input: "server clock 2 h ahead: token issued in the future", Where: whereToken,
			Message: "phase fresh",
			Hint:    "clock skew: the server's clock is about 2h0m0s ahead of this machine's; countdowns and refresh times are off by that much (sync the clocks: NTP)",
			run: func(t *testing.T) (string, string) {
				srv := newCatServer(t, kalamtest.WithClock(func() time.Time { return time.Now().Add(2 * time.Hour) }), kalamtest.WithAccessTTL(time.Hour))
				return tokenPhase(t, newCatBackend(t), srv.URL)
			}},
		{Name: "client-clock-ahead", Input: "this machine's clock 2 h ahead of the server", Where: whereToken,
			Message: "phase dead",
			Hint:    "clock skew: the server's clock is about 2h0m0s behind this machine's; countdowns and refresh times are off by that much (sync the clocks: NTP)",
			run: func(t *testing.T) (string, string) {
				srv := newCatServer(t, kalamtest.WithAccessTTL(time.Hour))
				clk := session.NewFakeClock(time.Now().Add(2 * time.Hour))
				b := newCatBackend(t, session.WithClock(clk),
					session.WithClientOptions(client.WithClock(clk.Now)))
				return tokenPhase(t, b, srv.URL)
			}},
	}
}

func TestCatalogue(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED in -short: starts ~30 loopback servers")
	}
	for _, tc := range catalogue() {
		t.Run(tc.Name, func(t *testing.T) {
			msg, hint := tc.run(t)
			msg, hint = normalise(msg), normalise(hint)
			if msg != tc.Message || hint != tc.Hint {
				t.Errorf("%s\n got message: %q\n want:        %q\n got hint:    %q\n want:        %q", tc.Input, msg, tc.Message, hint, tc.Hint)
				t.Logf("CATALOGUE\t%s\t%q\t%q", tc.Name, msg, hint)
			}
			for _, secret := range []string{catPassword} {
				if strings.Contains(msg+hint, secret) {
					t.Errorf("message shows the password: %q", msg)
				}
			}
		})
	}
}

// Markers around the generated table in README.md.
const (
	catalogueBegin = "<!-- catalogue:begin (generated by go test -run TestCatalogueREADME -catalogue.update ./internal/app) -->"
	catalogueEnd   = "<!-- catalogue:end -->"
)

// catalogueTable renders the cases as the README's Markdown table.
func catalogueTable() string {
	var b strings.Builder
	b.WriteString(catalogueBegin + "\n")
	b.WriteString("| What happened | Where | What you see | Hint shown with it |\n")
	b.WriteString("|---|---|---|---|\n")
	for _, tc := range catalogue() {
		hint := "—"
		if tc.Hint != "" {
			hint = mdCell(tc.Hint)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mdCell(tc.Input), tc.Where, mdCode(tc.Message), hint)
	}
	b.WriteString(catalogueEnd + "\n")
	return b.String()
}

// mdCell escapes a table cell's pipes.
func mdCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// mdCode renders s as a code span that survives any backticks in it.
func mdCode(s string) string {
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		pad = " "
	}
	return fence + pad + mdCell(s) + pad + fence
}

// troubleshootingSection returns README's "## Troubleshooting" section
// (up to the next "## " heading) and its bounds.
func troubleshootingSection(readme string) (section string, start, end int) {
	start = strings.Index(readme, "\n## Troubleshooting\n")
	if start < 0 {
		return "", -1, -1
	}
	start++
	end = len(readme)
	if i := strings.Index(readme[start+3:], "\n## "); i >= 0 {
		end = start + 3 + i + 1
	}
	return readme[start:end], start, end
}

// TestCatalogueREADME keeps the README's Troubleshooting table equal to
// the catalogue: every input and its exact message must be listed.
func TestCatalogueREADME(t *testing.T) {
	raw, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	table := catalogueTable()
	if *updateCatalogue {
		readme = withCatalogueTable(t, readme, table)
		if err := os.WriteFile(readmePath, []byte(readme), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	section, _, _ := troubleshootingSection(readme)
	if section == "" {
		t.Fatal("README.md has no \"## Troubleshooting\" section; run go test -run TestCatalogueREADME -catalogue.update")
	}
	for _, tc := range catalogue() {
		if !strings.Contains(section, mdCell(tc.Input)) || !strings.Contains(section, mdCode(tc.Message)) {
			t.Errorf("README Troubleshooting does not list %q → %q", tc.Input, tc.Message)
		}
	}
	if !strings.Contains(section, table) {
		t.Error("README Troubleshooting table differs from the catalogue; run go test -run TestCatalogueREADME -catalogue.update")
	}
}

// withCatalogueTable replaces the generated table in readme, creating the
// Troubleshooting section before "## kalamdash serve" if it is missing.
func withCatalogueTable(t *testing.T, readme, table string) string {
	t.Helper()
	section, start, end := troubleshootingSection(readme)
	if section == "" {
		at := strings.Index(readme, "\n## kalamdash serve\n")
		if at < 0 {
			t.Fatal("README.md has neither a Troubleshooting section nor a \"## kalamdash serve\" heading to put one before")
		}
		at++
		return readme[:at] + "## Troubleshooting\n\n" + table + "\n" + readme[at:]
	}
	b, e := strings.Index(section, catalogueBegin), strings.Index(section, catalogueEnd)
	if b < 0 || e < b {
		return readme[:end] + table + "\n" + readme[end:]
	}
	e += len(catalogueEnd) + 1
	return readme[:start] + section[:b] + table + section[e:] + readme[end:]
}

// TestCatalogueOversizedClose follows a frame over the 16 MiB read limit
// past the footer notice: the connection records the 1009 close the client
// sent (the frame log shows it outbound, with the library's reason) and
// says why, and the dashboard then reconnects by itself.
func TestCatalogueOversizedClose(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED in -short: sends a 17 MiB frame")
	}
	t.Run("close", func(t *testing.T) {
		srv := newCatServer(t)
		// A slow reconnect keeps the disconnected state observable.
		b := newCatBackend(t, session.WithClientOptions(client.WithReconnect(time.Hour, time.Hour, 0)))
		c := openCat(t, b, srv.URL)
		testkit.Poll(t, "connected", c.Snapshot, func(s ui.Snapshot) bool { return s.State == "connected" })
		sendRaw(t, srv, client.OpText, make([]byte, 17<<20))
		s := testkit.Poll(t, "the 1009 close", c.Snapshot, func(s ui.Snapshot) bool { return s.State != "connected" && s.CloseCode != 0 })
		if s.CloseCode != 1009 || s.CloseReason != "frame over the 16 MiB read limit" {
			t.Errorf("close %d %q, want 1009 %q", s.CloseCode, s.CloseReason, "frame over the 16 MiB read limit")
		}
		if !strings.Contains(s.LastError, "16 MiB read limit") || !strings.Contains(s.Hint, "batch_size") {
			t.Errorf("footer says %q — %q; want the read limit and the batch_size hint", s.LastError, s.Hint)
		}
		// The frame log has its own pump, which may trail the state: wait
		// for the close frame, then check it is the only one.
		var closes []string
		testkit.Poll(t, "the close frame in the log", c.Snapshot, func(ui.Snapshot) bool {
			closes = closes[:0]
			for _, f := range c.Frames().Page(ui.FrameFilter{}, 0, 1<<20) {
				if f.Opcode == "close" {
					closes = append(closes, fmt.Sprintf("%s %d %s", f.Dir, f.CloseCode, f.CloseReason))
				}
			}
			return len(closes) > 0
		})
		if want := fmt.Sprintf("out 1009 read limited at %d bytes", 16<<20+1); len(closes) != 1 || closes[0] != want {
			t.Errorf("close frames %q, want [%q]", closes, want)
		}
	})
	t.Run("reconnects", func(t *testing.T) {
		srv := newCatServer(t)
		b := newCatBackend(t)
		c := openCat(t, b, srv.URL)
		testkit.Poll(t, "connected", c.Snapshot, func(s ui.Snapshot) bool { return s.State == "connected" })
		sendRaw(t, srv, client.OpText, make([]byte, 17<<20))
		testkit.Poll(t, "reconnected", c.Snapshot, func(s ui.Snapshot) bool { return s.State == "connected" && s.Stats.Reconnects == 1 })
	})
}
