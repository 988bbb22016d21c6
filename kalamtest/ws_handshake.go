package kalamtest

import (
	"net/http"
	"strings"
	"time"
)

// Upstream's /v1/ws handler runs its own checks (shutdown, origin, registry
// slot) and then hands the request to actix-ws's handle, whose handshake
// check refuses a request that is not a WebSocket upgrade with an empty
// body and a reason phrase of its own in the status line
// (jamals86/KalamDB: backend/crates/kalamdb-api/src/ws/handler.rs;
// actix/actix-extras: actix-ws/src/lib.rs; actix/actix-web:
// actix-http/src/ws/mod.rs verify_handshake and its HandshakeError →
// Response conversion). coder/websocket checks in another order and
// answers 426, so kalamtest runs upstream's checks before it.

// handshakeRefusal is one of actix's handshake refusals: a 400 whose
// status line carries reason instead of "Bad Request".
type handshakeRefusal struct {
	reason string
}

// Actix's refusals, in the order verify_handshake checks (the first check,
// GET only, never fires: the route itself admits only GET).
var (
	refuseNoUpgrade    = &handshakeRefusal{"No WebSocket Upgrade header found"}
	refuseNoConnection = &handshakeRefusal{"No Connection upgrade"}
	refuseNoVersion    = &handshakeRefusal{"WebSocket version header is required"}
	refuseBadVersion   = &handshakeRefusal{"Unsupported WebSocket version"}
	refuseNoKey        = &handshakeRefusal{"Handshake error"}
)

// checkHandshake returns actix's refusal of r, or nil when r is an upgrade
// actix accepts.
func checkHandshake(r *http.Request) *handshakeRefusal {
	// Only the first Upgrade value counts, and it need only contain
	// "websocket" (any case).
	if up := r.Header.Values("Upgrade"); len(up) == 0 || !strings.Contains(strings.ToLower(up[0]), "websocket") {
		return refuseNoUpgrade
	}
	if !connectionUpgrade(r.Header.Values("Connection")) {
		return refuseNoConnection
	}
	version := r.Header.Values("Sec-WebSocket-Version")
	if len(version) == 0 {
		return refuseNoVersion
	}
	switch version[0] {
	case "13", "8", "7":
	default:
		return refuseBadVersion
	}
	if len(r.Header.Values("Sec-WebSocket-Key")) == 0 {
		return refuseNoKey
	}
	return nil
}

// connectionUpgrade reports whether actix's HTTP/1 decoder marks a request
// with these Connection headers as an upgrade: some comma-separated token
// is "upgrade" and none is "close", which wins over it (actix/actix-web:
// actix-http/src/h1/decoder.rs set_headers).
func connectionUpgrade(values []string) bool {
	upgrade := false
	for _, v := range values {
		for _, tok := range strings.Split(v, ",") {
			switch tok = strings.TrimSpace(tok); {
			case strings.EqualFold(tok, "close"):
				return false
			case strings.EqualFold(tok, "upgrade"):
				upgrade = true
			}
		}
	}
	return upgrade
}

// write answers the refusal as actix does: status 400 with its reason
// phrase, an empty body, dated by the wall clock as net/http dates its
// answers. net/http cannot set a reason phrase, so the
// response is written on the hijacked connection, which is then closed;
// where that is impossible (HTTP/2) it falls back to a plain 400.
func (h *handshakeRefusal) write(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		writeActixText(w, http.StatusBadRequest, "")
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		writeActixText(w, http.StatusBadRequest, "")
		return
	}
	defer conn.Close()
	_, _ = buf.WriteString("HTTP/1.1 400 " + h.reason + "\r\ncontent-length: 0\r\ndate: " +
		time.Now().UTC().Format(http.TimeFormat) + "\r\n\r\n")
	_ = buf.Flush()
}
