package kalamtest_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/kalamdash/kalamdash/kalamtest"
)

// pxWait is how long a test waits for something that must happen; it only
// bounds a hang, it is never the thing asserted.
const pxWait = 10 * time.Second

// pxQuiet is how long a test watches for something that must not happen.
const pxQuiet = 150 * time.Millisecond

// pxNoLeaks checks, after every cleanup of t has run, that no goroutine
// started during t is left.
func pxNoLeaks(t *testing.T) {
	t.Helper()
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// pxServer is a loopback TCP server running handler for each connection.
// Its handlers' results are collected on errs.
type pxServer struct {
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	cs   []net.Conn
	errs chan error
}

func newPxServer(t *testing.T, handler func(net.Conn) error) *pxServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &pxServer{ln: ln, errs: make(chan error, 100)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.cs = append(s.cs, c)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				err := handler(c)
				select {
				case s.errs <- err:
				default:
				}
			}()
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *pxServer) addr() string { return s.ln.Addr().String() }

func (s *pxServer) close() {
	_ = s.ln.Close()
	s.mu.Lock()
	for _, c := range s.cs {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// nextErr waits for the next handler result.
func (s *pxServer) nextErr(t *testing.T) error {
	t.Helper()
	select {
	case err := <-s.errs:
		return err
	case <-time.After(pxWait):
		t.Fatal("server handler did not finish")
		return nil
	}
}

// pxEcho copies a connection back to itself, then half-closes it.
func pxEcho(c net.Conn) error {
	defer c.Close()
	_, err := io.Copy(c, c)
	if err == nil {
		err = c.(*net.TCPConn).CloseWrite()
	}
	return err
}

// newEchoPx starts a leak-checked test with a proxy in front of an echo
// server, the setup of most fault tests; it returns both.
func newEchoPx(t *testing.T) (*kalamtest.Proxy, *pxServer) {
	t.Helper()
	pxNoLeaks(t)
	srv := newPxServer(t, pxEcho)
	return newPx(t, srv.addr()), srv
}

func newPx(t *testing.T, target string) *kalamtest.Proxy {
	t.Helper()
	p, err := kalamtest.NewProxy(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func pxDial(t *testing.T, p *kalamtest.Proxy) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.Addr(), pxWait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c.(*net.TCPConn)
}

// pxWrite sends msg through c or fails the test.
func pxWrite(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
}

// pxRoundTrip sends msg through c and requires the echo server's copy of
// it back.
func pxRoundTrip(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	pxWrite(t, c, msg)
	if got := pxReadN(t, c, len(msg)); string(got) != msg {
		t.Fatalf("got %q, want %q", got, msg)
	}
}

// pxReadN reads exactly n bytes or fails the test.
func pxReadN(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(pxWait))
	defer c.SetReadDeadline(time.Time{})
	buf := make([]byte, n)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("reading %d bytes: %v", n, err)
	}
	return buf
}

// pxSilence asserts that nothing arrives on c for a while.
func pxSilence(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(pxQuiet))
	defer c.SetReadDeadline(time.Time{})
	var b [1]byte
	n, err := c.Read(b[:])
	if n > 0 || !pxIsTimeout(err) {
		t.Fatalf("expected nothing to arrive, got %d bytes, err %v", n, err)
	}
}

func pxIsTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// pxReadAll reads until EOF or error and returns the bytes and the error
// (nil for a clean EOF).
func pxReadAll(t *testing.T, c net.Conn) ([]byte, error) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(pxWait))
	var out bytes.Buffer
	_, err := io.Copy(&out, c)
	if pxIsTimeout(err) {
		t.Fatalf("connection did not end; got %d bytes", out.Len())
	}
	return out.Bytes(), err
}

func pxPattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func TestProxyForwardsBothWays(t *testing.T) {
	p, srv := newEchoPx(t)
	c := pxDial(t, p)

	want := pxPattern(1 << 20)
	go func() { _, _ = c.Write(want) }()
	if got := pxReadN(t, c, len(want)); !bytes.Equal(got, want) {
		t.Fatal("echoed bytes differ from the bytes sent")
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if rest, err := pxReadAll(t, c); err != nil || len(rest) != 0 {
		t.Fatalf("after half-close want clean EOF, got %d bytes, err %v", len(rest), err)
	}
	if err := srv.nextErr(t); err != nil {
		t.Fatalf("echo server: %v", err)
	}
	st := p.Stats()
	if st.Accepted != 1 || st.BytesToServer != int64(len(want)) || st.BytesToClient != int64(len(want)) {
		t.Fatalf("stats = %+v, want 1 accepted and %d bytes each way", st, len(want))
	}
}

func TestProxyHTTP(t *testing.T) {
	pxNoLeaks(t)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello "+r.URL.Path)
	}))
	defer hs.Close()
	p := newPx(t, hs.URL)
	if !strings.HasPrefix(p.URL(), "http://127.0.0.1:") || p.Target() != strings.TrimPrefix(hs.URL, "http://") {
		t.Fatalf("URL %q target %q", p.URL(), p.Target())
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: pxWait}

	get := func() (string, error) {
		resp, err := hc.Get(p.URL() + "/x")
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	if body, err := get(); err != nil || body != "hello /x" {
		t.Fatalf("GET through proxy = %q, %v", body, err)
	}

	// A blackhole makes a request time out; healing lets the next one pass.
	p.SetBlackhole(true)
	hc.Timeout = pxQuiet
	if _, err := get(); err == nil {
		t.Fatal("GET through a blackhole succeeded")
	}
	if err := p.Heal(); err != nil {
		t.Fatal(err)
	}
	hc.Timeout = pxWait
	if body, err := get(); err != nil || body != "hello /x" {
		t.Fatalf("GET after heal = %q, %v", body, err)
	}
	tr.CloseIdleConnections()
}

func TestProxyLatency(t *testing.T) {
	p, _ := newEchoPx(t)
	c := pxDial(t, p)

	const lat = 100 * time.Millisecond
	p.SetLatency(lat, 0)
	start := time.Now()
	pxRoundTrip(t, c, "a")
	// The delay is added once in each direction; it can only be longer.
	if rtt := time.Since(start); rtt < 2*lat {
		t.Fatalf("round trip took %v, want at least %v", rtt, 2*lat)
	}

	// Switched while data waits: a huge latency holds it, removing the
	// latency releases it at once.
	p.SetLatency(time.Hour, 0)
	pxWrite(t, c, "b")
	pxSilence(t, c)
	p.SetLatency(0, 0)
	if got := pxReadN(t, c, 1); string(got) != "b" {
		t.Fatalf("got %q", got)
	}
}

func TestProxyJitterKeepsOrder(t *testing.T) {
	p, _ := newEchoPx(t)
	p.SetLatency(2*time.Millisecond, 2*time.Millisecond)
	c := pxDial(t, p)

	var want bytes.Buffer
	for i := range 200 {
		msg := []byte{byte(i), byte(i >> 8)}
		want.Write(msg)
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
	}
	if got := pxReadN(t, c, want.Len()); !bytes.Equal(got, want.Bytes()) {
		t.Fatal("jitter reordered or changed the stream")
	}
}

func TestProxyBandwidth(t *testing.T) {
	p, _ := newEchoPx(t)
	c := pxDial(t, p)

	// 4 000 bytes at 10 000 B/s go out in 500-byte slices 50 ms apart: the
	// last one cannot leave before 350 ms.
	p.SetBandwidth(10_000)
	want := pxPattern(4000)
	start := time.Now()
	go func() { _, _ = c.Write(want) }()
	if got := pxReadN(t, c, len(want)); !bytes.Equal(got, want) {
		t.Fatal("limited stream changed")
	}
	if d := time.Since(start); d < 350*time.Millisecond {
		t.Fatalf("4000 bytes at 10000 B/s took %v, want at least 350ms", d)
	}

	// A trickle, lifted while data waits.
	p.SetBandwidth(1)
	want = pxPattern(100)
	if _, err := c.Write(want); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(pxQuiet))
	buf := make([]byte, 100)
	n, _ := io.ReadFull(c, buf)
	_ = c.SetReadDeadline(time.Time{})
	if n >= len(want) {
		t.Fatalf("at 1 B/s all %d bytes arrived within %v", n, pxQuiet)
	}
	p.SetBandwidth(0)
	if got := append(buf[:n], pxReadN(t, c, len(want)-n)...); !bytes.Equal(got, want) {
		t.Fatal("stream changed after lifting the limit")
	}
}

func TestProxyBlackhole(t *testing.T) {
	p, _ := newEchoPx(t)
	before := pxDial(t, p)
	pxRoundTrip(t, before, "1")

	p.SetBlackhole(true)
	pxWrite(t, before, "2")
	// New connections are accepted but stall too.
	during := pxDial(t, p)
	pxWrite(t, during, "3")
	pxSilence(t, before)
	pxSilence(t, during)

	p.SetBlackhole(false)
	if got := pxReadN(t, before, 1); string(got) != "2" {
		t.Fatalf("old connection got %q after the blackhole", got)
	}
	if got := pxReadN(t, during, 1); string(got) != "3" {
		t.Fatalf("new connection got %q after the blackhole", got)
	}
}

func TestProxyReset(t *testing.T) {
	p, srv := newEchoPx(t)
	c := pxDial(t, p)
	pxRoundTrip(t, c, "x")

	p.Reset()
	if _, err := pxReadAll(t, c); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("client read after Reset: %v, want connection reset", err)
	}
	if err := srv.nextErr(t); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("server read after Reset: %v, want connection reset", err)
	}

	// Reset is an event, not a state: the next connection works.
	c2 := pxDial(t, p)
	pxRoundTrip(t, c2, "y")
}

func TestProxyHalfCloseToClient(t *testing.T) {
	pxNoLeaks(t)
	// The server counts what it receives and reports it at EOF.
	got := make(chan int, 1)
	srv := newPxServer(t, func(c net.Conn) error {
		defer c.Close()
		_, _ = c.Write([]byte("hi"))
		n, err := io.Copy(io.Discard, c)
		got <- int(n)
		return err
	})
	p := newPx(t, srv.addr())
	c := pxDial(t, p)
	pxReadN(t, c, 2)

	p.HalfClose(kalamtest.ToClient)
	if rest, err := pxReadAll(t, c); err != nil || len(rest) != 0 {
		t.Fatalf("client wants clean EOF, got %d bytes, %v", len(rest), err)
	}
	// The other direction still flows.
	if _, err := c.Write(pxPattern(1000)); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-got:
		if n != 1000 {
			t.Fatalf("server received %d bytes after the half-close, want 1000", n)
		}
	case <-time.After(pxWait):
		t.Fatal("server never saw EOF")
	}
}

func TestProxyHalfCloseToServer(t *testing.T) {
	pxNoLeaks(t)
	// The server waits for EOF, then answers.
	srv := newPxServer(t, func(c net.Conn) error {
		defer c.Close()
		if _, err := io.Copy(io.Discard, c); err != nil {
			return err
		}
		_, err := c.Write([]byte("bye"))
		return err
	})
	p := newPx(t, srv.addr())
	c := pxDial(t, p)
	pxWrite(t, c, "hello")
	// Wait until the connection is through to the server before cutting.
	deadline := time.Now().Add(pxWait)
	for p.Stats().BytesToServer < 5 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	p.HalfClose(kalamtest.ToServer)
	if got, err := pxReadAll(t, c); err != nil || string(got) != "bye" {
		t.Fatalf("client got %q, %v; want the server's answer to EOF", got, err)
	}
	if err := srv.nextErr(t); err != nil {
		t.Fatalf("server: %v", err)
	}
}

func TestProxyDropAfter(t *testing.T) {
	pxNoLeaks(t)
	// The server streams until the socket dies.
	srv := newPxServer(t, func(c net.Conn) error {
		defer c.Close()
		chunk := pxPattern(4096)
		for {
			if _, err := c.Write(chunk); err != nil {
				return err
			}
		}
	})
	p := newPx(t, srv.addr())

	p.SetDropAfter(10_000)
	c := pxDial(t, p)
	got, _ := pxReadAll(t, c)
	if len(got) != 10_000 {
		t.Fatalf("new connection delivered %d bytes, want exactly 10000", len(got))
	}
	if err := srv.nextErr(t); err == nil {
		t.Fatal("server's stream did not fail when the proxy cut the connection")
	}

	// Lifted: a new connection outlives the old budget.
	p.SetDropAfter(0)
	c2 := pxDial(t, p)
	pxReadN(t, c2, 50_000)

	// Set on an existing connection, counting from the call.
	p.SetDropAfter(1)
	rest, _ := pxReadAll(t, c2)
	if len(rest) == 0 {
		t.Fatal("the existing connection was not cut")
	}
	if p.Stats().Active != 0 {
		t.Fatalf("connections still open: %+v", p.Stats())
	}
}

func TestProxyRefuse(t *testing.T) {
	p, _ := newEchoPx(t)
	old := pxDial(t, p)

	if err := p.SetRefuse(true); err != nil {
		t.Fatal(err)
	}
	if _, err := net.DialTimeout("tcp", p.Addr(), pxWait); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial while refusing: %v, want connection refused", err)
	}
	// Existing connections are untouched.
	pxRoundTrip(t, old, "o")

	if err := p.SetRefuse(false); err != nil {
		t.Fatal(err)
	}
	c := pxDial(t, p)
	pxRoundTrip(t, c, "n")
}

func TestProxyTargetDown(t *testing.T) {
	pxNoLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now

	p := newPx(t, addr)
	// The reset can beat connect(2) to completion, so either step may see it.
	nc, err := net.DialTimeout("tcp", p.Addr(), pxWait)
	if err == nil {
		defer nc.Close()
		var got []byte
		got, err = pxReadAll(t, nc)
		if len(got) != 0 {
			t.Fatalf("a dead target sent %d bytes", len(got))
		}
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("connection to a dead target: %v; want a reset", err)
	}
}

func TestProxyCloseEndsStalledConnections(t *testing.T) {
	pxNoLeaks(t)
	srv := newPxServer(t, pxEcho)
	p, err := kalamtest.NewProxy(srv.addr())
	if err != nil {
		t.Fatal(err)
	}
	p.SetLatency(time.Hour, 0)
	p.SetBandwidth(1)
	a := pxDial(t, p)
	_, _ = a.Write(pxPattern(100))
	p.SetBlackhole(true)
	b := pxDial(t, p)
	_, _ = b.Write(pxPattern(100))

	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []net.Conn{a, b} {
		if _, err := pxReadAll(t, c); err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("after Close: %v", err)
		}
	}
	if _, err := net.DialTimeout("tcp", p.Addr(), pxWait); err == nil {
		t.Fatal("closed proxy still accepts")
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestNewProxyTargets(t *testing.T) {
	for _, tc := range []struct {
		in, target, scheme string
	}{
		{"127.0.0.1:9", "127.0.0.1:9", "http"},
		{"http://127.0.0.1:8080", "127.0.0.1:8080", "http"},
		{"ws://localhost", "localhost:80", "ws"},
		{"https://[::1]/x", "[::1]:443", "https"},
	} {
		p, err := kalamtest.NewProxy(tc.in)
		if err != nil {
			t.Fatalf("NewProxy(%q): %v", tc.in, err)
		}
		if p.Target() != tc.target || !strings.HasPrefix(p.URL(), tc.scheme+"://127.0.0.1:") {
			t.Errorf("NewProxy(%q): target %q URL %q", tc.in, p.Target(), p.URL())
		}
		_ = p.Close()
	}
	for _, bad := range []string{"", "localhost", "http://", "ftp://host", "http://%zz", ":::"} {
		if p, err := kalamtest.NewProxy(bad); err == nil {
			_ = p.Close()
			t.Errorf("NewProxy(%q) succeeded", bad)
		}
	}
}
