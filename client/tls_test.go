package client_test

import (
	"encoding/pem"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/internal/testkit"
)

// tlsFront puts a TLS-terminating reverse proxy (self-signed certificate)
// in front of a kalamtest server, as a real deployment behind a proxy;
// WebSocket upgrades pass through httputil.ReverseProxy.
func tlsFront(t *testing.T, target string) (*httptest.Server, string) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewTLSServer(httputil.NewSingleHostReverseProxy(u))
	t.Cleanup(front.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: front.Certificate().Raw})
	testkit.WriteFile(t, caFile, string(pemBytes))
	return front, caFile
}

func TestTLS(t *testing.T) {
	srv := newServer(t)
	front, caFile := tlsFront(t, srv.URL)
	auth := client.WithAuth(client.Basic("alice", alicePW))

	_, err := client.Connect(ctxT(t), front.URL, auth)
	if !client.IsTLS(err) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted certificate: %v", err)
	}

	for name, opt := range map[string]client.Option{
		"ca file":  client.WithCAFile(caFile),
		"insecure": client.WithInsecureSkipVerify(),
	} {
		t.Run(name, func(t *testing.T) {
			wss := strings.Replace(front.URL, "https://", "wss://", 1)
			tc, err := client.Connect(ctxT(t), wss, auth, opt)
			if err != nil {
				t.Fatalf("Connect over TLS: %v", err)
			}
			defer tc.Close()
			if tc.URL() != front.URL {
				t.Fatalf("URL() = %s", tc.URL())
			}
			s := subscribe(t, tc, "SELECT * FROM app.messages")
			if ev := nextSub(t, s); ev.Kind != client.SubAck {
				t.Fatalf("ack over wss: %+v", ev)
			}
		})
	}

	// Plain HTTP against the TLS port is a TLS mistake, and says so.
	plain := strings.Replace(front.URL, "https://", "http://", 1)
	if _, err := client.Connect(ctxT(t), plain, auth); !client.IsTLS(err) || !strings.Contains(err.Error(), "use https://") {
		t.Fatalf("http against https: %v", err)
	}

	// A missing CA file is a clear construction error.
	if _, err := client.Connect(ctxT(t), front.URL, auth, client.WithCAFile(filepath.Join(t.TempDir(), "nope.pem"))); err == nil || !strings.Contains(err.Error(), "CA file") {
		t.Fatalf("missing CA file: %v", err)
	}
}
