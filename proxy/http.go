package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/kalamdash/kalamdash/client"
)

// maxTappedBody is how much of a request or response body is observed;
// the rest is relayed but not tapped (KalamDB's API bodies are far
// smaller).
const maxTappedBody = 16 << 20

// exchange is one relayed HTTP request, carried in its context from
// relayHTTP to the reverse proxy's hooks.
type exchange struct {
	kind  string // "POST /v1/api/sql", as the client names its own
	from  string // the application's address
	start time.Time
	body  []byte // the request body as observed (up to maxTappedBody)
	cut   bool   // body is only the start of the request body
}

type exchangeKey struct{}

// relayHTTP relays a plain HTTP request through the reverse proxy.
func (r *Relay) relayHTTP(w http.ResponseWriter, req *http.Request) {
	ex := &exchange{kind: req.Method + " " + req.URL.Path, from: req.RemoteAddr, start: time.Now()}
	if req.Body != nil && req.Body != http.NoBody {
		head, err := io.ReadAll(io.LimitReader(req.Body, maxTappedBody+1))
		if err != nil {
			r.emit(req.RemoteAddr, client.HTTPResponseFrame(ex.kind, 0, nil, nil, time.Since(ex.start), err, r.o.RevealSecrets))
			http.Error(w, "kalamdash proxy: reading the request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		ex.body, ex.cut = head, len(head) > maxTappedBody
		var rest io.Reader = req.Body
		if !ex.cut {
			rest = http.NoBody
		} else {
			ex.body = head[:maxTappedBody]
		}
		req.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(head), rest), req.Body}
	}
	r.rp.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), exchangeKey{}, ex)))
}

// reverseProxy is the relay's HTTP half: requests go upstream with their
// method, path, query, headers and body; answers come back with their
// status, headers and body. Each exchange is tapped as the client taps
// its own.
func (r *Relay) reverseProxy() *httputil.ReverseProxy {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return r.dialTCP(ctx)
		},
		TLSClientConfig:     r.tlsConfig(),
		ForceAttemptHTTP2:   false,
		DisableCompression:  true, // bodies pass as they are, Accept-Encoding as the app sent it
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = r.target(pr.In)
			pr.Out.Host = ""
			// The reverse proxy drops these before Rewrite; the relay
			// adds none of its own and passes the application's on.
			for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
				if v, ok := pr.In.Header[h]; ok {
					pr.Out.Header[h] = v
				}
			}
			if ex, ok := pr.In.Context().Value(exchangeKey{}).(*exchange); ok {
				f := client.HTTPRequestFrame(ex.kind, pr.Out, ex.body, r.o.RevealSecrets)
				if ex.cut {
					f.Err = "request body over 16 MiB: only its start is shown"
				}
				r.emit(ex.from, f)
			}
		},
		Transport:     tr,
		FlushInterval: -1,
		ModifyResponse: func(resp *http.Response) error {
			if ex, ok := resp.Request.Context().Value(exchangeKey{}).(*exchange); ok {
				resp.Body = &tappedBody{ReadCloser: resp.Body, done: func(body []byte, cut bool, err error) {
					var problem string
					wire, inflated := len(body), false
					if !cut {
						body, inflated, problem = observedBody(resp.Header, body)
					}
					f := client.HTTPResponseFrame(ex.kind, resp.StatusCode, resp.Header, body, time.Since(ex.start), err, r.o.RevealSecrets)
					if inflated {
						f.Encoding, f.WireSize = client.EncGzipJSON, wire
					}
					switch {
					case f.Err != "":
					case cut:
						f.Err = "response body over 16 MiB: only its start is shown"
					case problem != "":
						f.Err = problem
					}
					r.emit(ex.from, f)
				}}
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, req *http.Request, err error) {
			if ex, ok := req.Context().Value(exchangeKey{}).(*exchange); ok {
				r.emit(ex.from, client.HTTPResponseFrame(ex.kind, 0, nil, nil, time.Since(ex.start), err, r.o.RevealSecrets))
			}
			writeUpstreamError(w, err)
		},
	}
}

// observedBody is a response body as the application reads it: inflated
// when the server gzipped it (Content-Encoding: gzip, which an application
// asking with Accept-Encoding gets and its HTTP stack undoes), so the tap
// shows the JSON, tokens included, not gzip bytes. The application still
// gets the body as the server sent it. problem says why body is shown as
// it came, if it is; inflated says it was inflated.
func observedBody(h http.Header, body []byte) (observed []byte, inflated bool, problem string) {
	if len(body) == 0 || !strings.EqualFold(strings.TrimSpace(h.Get("Content-Encoding")), "gzip") {
		return body, false, ""
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return body, false, "gzip-encoded body that does not inflate: " + err.Error()
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxTappedBody+1))
	if err != nil {
		return body, false, "gzip-encoded body that does not inflate: " + err.Error()
	}
	if len(out) > maxTappedBody {
		return out[:maxTappedBody], true, "response body inflates beyond 16 MiB: only its start is shown"
	}
	return out, true, ""
}

// writeUpstreamError answers a request the upstream could not: 502 with a
// JSON body in KalamDB's error shape, so the application's error path
// reads it.
func writeUpstreamError(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadGateway)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": "upstream_unreachable",
		"message": "kalamdash proxy could not reach the KalamDB server: " + err.Error()})
}

// tappedBody keeps the start of a response body as the reverse proxy
// copies it to the application, and reports it once: at its end, or when
// the copy stops early.
type tappedBody struct {
	io.ReadCloser
	buf  bytes.Buffer
	cut  bool
	once sync.Once
	done func(body []byte, cut bool, err error)
}

func (b *tappedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if room := maxTappedBody - b.buf.Len(); n > room {
		b.buf.Write(p[:room])
		b.cut = true
	} else {
		b.buf.Write(p[:n])
	}
	switch {
	case err == io.EOF:
		b.finish(nil)
	case err != nil:
		b.finish(err)
	}
	return n, err
}

func (b *tappedBody) Close() error {
	b.finish(nil)
	return b.ReadCloser.Close()
}

func (b *tappedBody) finish(err error) {
	b.once.Do(func() { b.done(b.buf.Bytes(), b.cut, err) })
}
