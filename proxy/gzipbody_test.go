package proxy_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/proxy"
)

// gzipFront serves target behind a reverse proxy that gzips every answer
// to a request accepting it, as a compressing front (or a server with
// compression middleware) does.
func gzipFront(t *testing.T, target string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		if !strings.Contains(resp.Request.Header.Get("Accept-Encoding"), "gzip") || resp.StatusCode == http.StatusSwitchingProtocols {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		zw.Write(body)
		zw.Close()
		resp.Body = io.NopCloser(&zb)
		resp.Header.Set("Content-Encoding", "gzip")
		resp.Header.Set("Content-Length", strconv.Itoa(zb.Len()))
		resp.ContentLength = int64(zb.Len())
		return nil
	}
	front := httptest.NewServer(rp)
	t.Cleanup(front.Close)
	return front.URL
}

// TestRelayObservesGzipEncodedBodies: behind a server that gzips its HTTP
// answers, the application still gets them as sent (its HTTP stack
// inflates them and it logs in), and the relay's observer gets the login
// answer inflated — JSON whose tokens the dashboard reads — marked as
// gzip-encoded, with its size on the wire.
func TestRelayObservesGzipEncodedBodies(t *testing.T) {
	srv := newServer(t)
	_, url, obs := startRelay(t, gzipFront(t, srv.URL), proxy.Options{RevealSecrets: true})
	c, err := client.Connect(ctxT(t), url, client.WithAuth(client.Basic("alice", alicePW)))
	if err != nil {
		t.Fatalf("log in behind a gzipping server: %v", err)
	}
	access, _ := c.Credentials()
	c.Close()
	frames, _ := obs.snapshot()
	for _, f := range frames {
		if f.Opcode != client.OpHTTP || f.Direction != client.Inbound || f.Type != "POST /v1/api/auth/login" {
			continue
		}
		if f.Encoding != client.EncGzipJSON || f.Err != "" || !bytes.Contains(f.Decoded, []byte(access)) || f.WireSize >= f.DecodedSize {
			t.Fatalf("login answer observed as %s (err %q), wire %d decoded %d:\n%s", f.Encoding, f.Err, f.WireSize, f.DecodedSize, f.Decoded)
		}
		if !bytes.Contains(f.Wire, []byte("Content-Encoding: gzip")) {
			t.Fatalf("the observed headers lost Content-Encoding:\n%s", f.Wire)
		}
		return
	}
	t.Fatalf("no login answer observed: %d frames", len(frames))
}
