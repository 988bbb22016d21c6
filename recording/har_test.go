package recording_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/recording"
)

// harSpec checks v against the HAR 1.2 structure: required fields present
// with the right JSON types (object, array, string, number).
type harCheck struct {
	t    *testing.T
	errs int
}

func (c *harCheck) fail(path, format string, args ...any) {
	c.t.Helper()
	c.errs++
	if c.errs < 20 {
		c.t.Errorf(path+": "+format, args...)
	}
}

func (c *harCheck) obj(path string, v any, fields map[string]string) map[string]any {
	c.t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		c.fail(path, "want object, got %T", v)
		return nil
	}
	for name, typ := range fields {
		fv, present := m[name]
		if !present {
			c.fail(path+"."+name, "required field missing")
			continue
		}
		ok := false
		switch typ {
		case "string":
			_, ok = fv.(string)
		case "number":
			_, ok = fv.(float64)
		case "object":
			_, ok = fv.(map[string]any)
		case "array":
			_, ok = fv.([]any)
		case "date":
			s, isStr := fv.(string)
			_, err := time.Parse(time.RFC3339Nano, s)
			ok = isStr && err == nil
		}
		if !ok {
			c.fail(path+"."+name, "want %s, got %T %v", typ, fv, fv)
		}
	}
	return m
}

func (c *harCheck) nameValues(path string, v any) {
	c.t.Helper()
	arr, _ := v.([]any)
	for i, nv := range arr {
		c.obj(path+"["+strconv.Itoa(i)+"]", nv, map[string]string{"name": "string", "value": "string"})
	}
}

// validateHAR checks a whole document and returns its entries.
func validateHAR(t *testing.T, doc []byte) []any {
	t.Helper()
	var root any
	if err := json.Unmarshal(doc, &root); err != nil {
		t.Fatalf("HAR is not JSON: %v", err)
	}
	c := &harCheck{t: t}
	r := c.obj("", root, map[string]string{"log": "object"})
	log := c.obj("log", r["log"], map[string]string{"version": "string", "creator": "object", "entries": "array"})
	if log["version"] != "1.2" {
		c.fail("log.version", "%v, want 1.2", log["version"])
	}
	c.obj("log.creator", log["creator"], map[string]string{"name": "string", "version": "string"})
	if pages, ok := log["pages"].([]any); ok {
		for _, p := range pages {
			pm := c.obj("log.pages[]", p, map[string]string{"startedDateTime": "date", "id": "string", "title": "string", "pageTimings": "object"})
			if pm != nil {
				c.obj("log.pages[].pageTimings", pm["pageTimings"], map[string]string{})
			}
		}
	}
	entries, _ := log["entries"].([]any)
	for _, e := range entries {
		em := c.obj("entry", e, map[string]string{"startedDateTime": "date", "time": "number", "request": "object",
			"response": "object", "cache": "object", "timings": "object"})
		if em == nil {
			continue
		}
		req := c.obj("entry.request", em["request"], map[string]string{"method": "string", "url": "string", "httpVersion": "string",
			"cookies": "array", "headers": "array", "queryString": "array", "headersSize": "number", "bodySize": "number"})
		c.nameValues("entry.request.headers", req["headers"])
		c.nameValues("entry.request.queryString", req["queryString"])
		if pd, ok := req["postData"]; ok {
			c.obj("entry.request.postData", pd, map[string]string{"mimeType": "string", "text": "string"})
		}
		resp := c.obj("entry.response", em["response"], map[string]string{"status": "number", "statusText": "string",
			"httpVersion": "string", "cookies": "array", "headers": "array", "content": "object", "redirectURL": "string",
			"headersSize": "number", "bodySize": "number"})
		c.nameValues("entry.response.headers", resp["headers"])
		c.obj("entry.response.content", resp["content"], map[string]string{"size": "number", "mimeType": "string"})
		c.obj("entry.timings", em["timings"], map[string]string{"send": "number", "wait": "number", "receive": "number"})
		if msgs, ok := em["_webSocketMessages"]; ok {
			arr, isArr := msgs.([]any)
			if !isArr {
				c.fail("entry._webSocketMessages", "want array, got %T", msgs)
			}
			for _, m := range arr {
				mm := c.obj("entry._webSocketMessages[]", m, map[string]string{"type": "string", "time": "number", "opcode": "number", "data": "string"})
				if mm == nil {
					continue
				}
				if typ := mm["type"]; typ != "send" && typ != "receive" {
					c.fail("entry._webSocketMessages[].type", "%v, want send or receive", typ)
				}
				if op := mm["opcode"]; op != 1.0 && op != 2.0 {
					c.fail("entry._webSocketMessages[].opcode", "%v, want 1 or 2", op)
				}
			}
		}
	}
	if c.errs > 0 {
		t.FailNow()
	}
	return entries
}

// TestHARExportValidates exports a recorded live session (gzip, so binary
// messages too) and checks the HAR 1.2 structure, the pairing of HTTP
// exchanges and the WebSocket messages against the recorded frames.
func TestHARExportValidates(t *testing.T) {
	srv := newServer(t)
	sess := recordSession(t, srv)
	rec, err := recording.Read(bytes.NewReader(sess.file), "s.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := recording.WriteHAR(&buf, rec, "test"); err != nil {
		t.Fatal(err)
	}
	entries := validateHAR(t, buf.Bytes())

	var wantHTTP, wantData int
	for _, f := range rec.Frames {
		if f.Opcode == client.OpHTTP && f.Direction == client.Inbound && f.Status != 101 {
			wantHTTP++ // 101 upgrades become the sockets' entries
		}
		if f.Opcode == client.OpText || f.Opcode == client.OpBinary {
			wantData++
		}
	}
	var gotHTTP, gotWS, gotData, binary int
	var sawSend, sawRecv bool
	for _, e := range entries {
		em := e.(map[string]any)
		if em["_resourceType"] == "websocket" {
			gotWS++
			if u := em["request"].(map[string]any)["url"].(string); len(u) < 5 || u[:5] != "ws://" {
				t.Errorf("socket entry URL %q, want ws://…", u)
			}
			for _, m := range em["_webSocketMessages"].([]any) {
				mm := m.(map[string]any)
				gotData++
				sawSend = sawSend || mm["type"] == "send"
				sawRecv = sawRecv || mm["type"] == "receive"
				if mm["opcode"] == 2.0 {
					binary++
					if _, err := base64.StdEncoding.DecodeString(mm["data"].(string)); err != nil {
						t.Errorf("binary message data is not base64: %v", err)
					}
				}
			}
			continue
		}
		gotHTTP++
		req := em["request"].(map[string]any)
		if h := req["headers"].([]any); len(h) == 0 {
			t.Errorf("HTTP %v %v has no request headers", req["method"], req["url"])
		}
		resp := em["response"].(map[string]any)
		if req["method"] != "POST" && req["method"] != "GET" {
			t.Errorf("request method %v", req["method"])
		}
		if resp["status"].(float64) != 200 {
			t.Errorf("HTTP %v %v answered %v", req["method"], req["url"], resp["status"])
		}
	}
	if gotHTTP != wantHTTP || gotWS != 2 || gotData != wantData {
		t.Fatalf("HAR has %d HTTP entries (want %d), %d sockets (want 2), %d messages (want %d)", gotHTTP, wantHTTP, gotWS, gotData, wantData)
	}
	if !sawSend || !sawRecv || binary == 0 {
		t.Fatalf("messages: send %v receive %v binary %d", sawSend, sawRecv, binary)
	}
}
