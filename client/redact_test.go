package client_test

import (
	"strings"
	"testing"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/redact"
)

// TestRedactFrameKeyBased: a frame captured with reveal loses its secrets,
// keeping the auth scheme and cookie names visible.
func TestRedactFrameKeyBased(t *testing.T) {
	req := "POST /v1/api/auth/refresh HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer eyJ.aaa.bbb\r\nCookie: kalamdb_refresh=eyJ.ccc.ddd\r\n\r\n"
	body := `{"user":"alice","password":"hunter2-secret","access_token":"eyJ.eee.fff"}`
	f := client.RedactFrame(client.Frame{Opcode: client.OpHTTP, Wire: []byte(req + body), Decoded: []byte(body)})
	for _, s := range []string{"eyJ.aaa.bbb", "eyJ.ccc.ddd", "hunter2-secret", "eyJ.eee.fff"} {
		if strings.Contains(string(f.Wire), s) || strings.Contains(string(f.Decoded), s) {
			t.Fatalf("secret %q survived:\n%s\n%s", s, f.Wire, f.Decoded)
		}
	}
	for _, keep := range []string{"Authorization: Bearer " + redact.Marker, "Cookie: kalamdb_refresh=" + redact.Marker, `"user":"alice"`} {
		if !strings.Contains(string(f.Wire), keep) {
			t.Fatalf("%q missing from %s", keep, f.Wire)
		}
	}
	bin := []byte{0x1f, 0x8b, 0xff, 0x00}
	if g := client.RedactFrame(client.Frame{Wire: bin}); string(g.Wire) != string(bin) {
		t.Fatal("binary payload changed")
	}
}

// TestRedactFrameHTTPWithBinaryBody: an HTTP exchange whose body is not
// UTF-8 (Latin-1 text in SQL, a gzip request body) still loses the
// secrets in its head and body; the proxy dashboard taps with reveal on
// and relies on this for its log and recordings.
func TestRedactFrameHTTPWithBinaryBody(t *testing.T) {
	req := "POST /v1/api/sql HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer eyJ.aaa.bbb\r\nCookie: kalamdb_refresh=eyJ.ccc.ddd\r\n\r\n"
	body := "{\"sql\":\"SELECT 'caf\xe9'\",\"password\":\"hunter2-secret\"}\x1f\x8b\xff"
	f := client.RedactFrame(client.Frame{Opcode: client.OpHTTP, Wire: []byte(req + body)})
	for _, s := range []string{"eyJ.aaa.bbb", "eyJ.ccc.ddd", "hunter2-secret"} {
		if strings.Contains(string(f.Wire), s) {
			t.Fatalf("secret %q survived in a non-UTF-8 exchange:\n%q", s, f.Wire)
		}
	}
	if !strings.Contains(string(f.Wire), "Authorization: Bearer "+redact.Marker) || !strings.Contains(string(f.Wire), "caf\xe9") {
		t.Fatalf("the exchange lost more than its secrets:\n%q", f.Wire)
	}
}
