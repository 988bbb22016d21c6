package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// handshakeTimeout bounds dialling the upstream and its answer to an
// upgrade.
const handshakeTimeout = 30 * time.Second

// lingerAfterEnd is how long the relay waits for the second direction of
// a socket to end after the first did (a peer that never closes its side).
const lingerAfterEnd = 5 * time.Second

// liveSocket is the pair of connections of a relayed socket, cut at once
// by Drop or at the socket's end.
type liveSocket struct {
	id      uint64 // the socket's ConnID
	app, up net.Conn
	once    sync.Once
	err     error // why the relay cut it, if it did before the end
}

func (l *liveSocket) cut(err error) {
	l.once.Do(func() {
		l.err = err
		l.app.Close()
		l.up.Close()
	})
}

// relaySocket relays a WebSocket upgrade to the upstream and, once the
// upstream switched protocols, the socket's frames both ways.
func (r *Relay) relaySocket(w http.ResponseWriter, req *http.Request) {
	start := time.Now()
	id := r.socketIDs.Add(1)
	kind := req.Method + " " + req.URL.Path
	target := r.target(req)
	forced := r.compressOff.Swap(false)
	if forced {
		target.RawQuery = withCompressOff(target.RawQuery)
	}
	ev := ConnEvent{ConnID: id, Client: req.RemoteAddr, Target: wsURL(*target), CompressForcedOff: forced}
	fail := func(err error) {
		ev.CloseCode, ev.Err = -1, err.Error()
		r.connEvent(ev)
	}

	out := &http.Request{Method: req.Method, URL: target, Host: target.Host, Header: req.Header.Clone(),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	if _, ok := out.Header["User-Agent"]; !ok {
		out.Header["User-Agent"] = []string{""} // else Write sends Go's own
	}
	r.emit(req.RemoteAddr, client.HTTPRequestFrame(kind, out, nil, r.o.RevealSecrets))

	ctx, cancel := context.WithTimeout(req.Context(), handshakeTimeout)
	defer cancel()
	up, err := r.dial(ctx)
	if err != nil {
		r.emit(req.RemoteAddr, client.HTTPResponseFrame(kind, 0, nil, nil, time.Since(start), err, r.o.RevealSecrets))
		writeUpstreamError(w, err)
		fail(err)
		return
	}
	_ = up.SetDeadline(time.Now().Add(handshakeTimeout))
	upR := bufio.NewReader(up)
	resp, err := roundTrip(up, upR, out)
	if err != nil {
		up.Close()
		r.emit(req.RemoteAddr, client.HTTPResponseFrame(kind, 0, nil, nil, time.Since(start), err, r.o.RevealSecrets))
		writeUpstreamError(w, err)
		fail(err)
		return
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxTappedBody))
		up.Close()
		r.emit(req.RemoteAddr, client.HTTPResponseFrame(kind, resp.StatusCode, resp.Header, body, time.Since(start), nil, r.o.RevealSecrets))
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(body)
		fail(fmt.Errorf("upgrade refused by the server: %s", resp.Status))
		return
	}
	_ = up.SetDeadline(time.Time{})

	hj, ok := w.(http.Hijacker)
	if !ok {
		up.Close()
		err := errors.New("the listener cannot hand over the connection")
		http.Error(w, "kalamdash proxy: "+err.Error(), http.StatusInternalServerError)
		fail(err)
		return
	}
	app, appRW, err := hj.Hijack()
	if err != nil {
		up.Close()
		fail(err)
		return
	}
	_ = app.SetDeadline(time.Time{})
	r.emit(req.RemoteAddr, client.HTTPResponseFrame(kind, resp.StatusCode, resp.Header, nil, time.Since(start), nil, r.o.RevealSecrets))
	// The upstream's 101 as it sent it (status text and headers).
	fmt.Fprintf(appRW, "HTTP/1.1 %s\r\n", resp.Status)
	_ = resp.Header.Write(appRW)
	_, _ = appRW.WriteString("\r\n")
	if err := appRW.Flush(); err != nil {
		app.Close()
		up.Close()
		fail(err)
		return
	}
	r.pipe(ev, &liveSocket{id: id, app: app, up: up}, appRW.Reader, upR)
}

// roundTrip writes req to the upstream connection and reads its answer.
func roundTrip(up net.Conn, upR *bufio.Reader, req *http.Request) (*http.Response, error) {
	if err := req.Write(up); err != nil {
		return nil, fmt.Errorf("send the upgrade upstream: %w", err)
	}
	resp, err := http.ReadResponse(upR, req)
	if err != nil {
		return nil, fmt.Errorf("read the upstream's answer to the upgrade: %w", err)
	}
	return resp, nil
}

// pipe relays the socket's frames both ways until both directions ended,
// then reports the end.
func (r *Relay) pipe(ev ConnEvent, ls *liveSocket, appR, upR *bufio.Reader) {
	s := &socket{r: r, id: ev.ConnID, conn: ev}
	r.mu.Lock()
	r.sockets[ls] = struct{}{}
	r.wg.Add(1)
	r.mu.Unlock()
	defer r.wg.Done()
	opened := ev
	opened.Opened = true
	r.connEvent(opened)

	ended := make(chan struct{}, 2)
	relay := func(src *bufio.Reader, dst net.Conn, d *direction) {
		for relayFrame(src, dst, d.observe) == nil {
		}
		halfClose(dst)
		ended <- struct{}{}
	}
	go relay(appR, ls.up, s.direction(client.Outbound))
	go relay(upR, ls.app, s.direction(client.Inbound))
	<-ended
	// One side is done; the other gets a moment to send what is in flight
	// (the answering close frame) before the relay gives up on it.
	deadline := time.Now().Add(lingerAfterEnd)
	_ = ls.app.SetReadDeadline(deadline)
	_ = ls.up.SetReadDeadline(deadline)
	<-ended
	ls.cut(nil)

	r.mu.Lock()
	delete(r.sockets, ls)
	r.mu.Unlock()
	end := s.closedEvent()
	if ls.err != nil {
		end.Err = ls.err.Error()
	}
	r.connEvent(end)
}

// halfClose tells the peer no more is coming (FIN, or TLS close_notify)
// and keeps the connection readable; a connection without half-close is
// closed.
func halfClose(c net.Conn) {
	if hc, ok := c.(interface{ CloseWrite() error }); ok {
		_ = hc.CloseWrite()
		return
	}
	c.Close()
}

// wsURL names a socket's upstream URL with its WebSocket scheme.
func wsURL(u url.URL) string {
	u.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	return u.String()
}

// withCompressOff returns query with compress=false instead of any
// compress parameter it had, the rest kept as it was.
func withCompressOff(query string) string {
	var kept []string
	for _, p := range strings.Split(query, "&") {
		key, _, _ := strings.Cut(p, "=")
		if p == "" || strings.EqualFold(key, "compress") {
			continue
		}
		kept = append(kept, p)
	}
	return strings.Join(append(kept, "compress=false"), "&")
}
