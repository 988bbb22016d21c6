package bench

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/kalamtest"
)

// Replay is a minimal KalamDB-speaking WebSocket server whose change
// events are encoded once, up front: a burst costs it one Write per frame
// and nothing else. It isolates the reader's cost, which kalamtest's
// per-event JSON encoding and gzip (half the CPU of a kalamtest stream on
// two cores) hide. Any bearer token is accepted.
type Replay struct {
	URL    string
	srv    *http.Server
	frames []replayFrame
	mu     sync.Mutex
	conns  map[*websocket.Conn]chan int // subscribed sockets → burst requests
	ready  chan struct{}
}

type replayFrame struct {
	typ  websocket.MessageType
	data []byte
}

// NewReplay serves change events for rows of rowBytes bytes (n distinct
// frames, cycled), gzipped as the server would when compress is asked for.
func NewReplay(rowBytes, n int) (*Replay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Replay{URL: "http://" + ln.Addr().String(), conns: map[*websocket.Conn]chan int{}, ready: make(chan struct{}, 16)}
	for i := range n {
		msg := client.ChangeMessage{Type: client.TypeChange, SubscriptionID: "{sub}", ChangeType: client.ChangeInsert,
			Rows: []client.Row{{"id": strconv.Itoa(i), "body": kalamtest.RowText(rowBytes, uint32(i)), "_seq": strconv.Itoa(1_000_000 + i)}}}
		b, _ := json.Marshal(msg)
		r.frames = append(r.frames, replayFrame{websocket.MessageText, b})
	}
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serveWS)}
	go r.srv.Serve(ln)
	return r, nil
}

func (r *Replay) serveWS(w http.ResponseWriter, req *http.Request) {
	ws, err := websocket.Accept(w, req, nil)
	if err != nil {
		return
	}
	defer ws.CloseNow()
	compress := req.URL.Query().Get("compress") != "false"
	ctx := req.Context()
	ok, _ := json.Marshal(client.AuthSuccessMessage{Type: client.TypeAuthSuccess, User: User, Role: "dba",
		Protocol: client.Protocol{Serialization: "json", Compression: map[bool]string{true: "gzip", false: "none"}[compress]}})
	if ws.Write(ctx, websocket.MessageText, ok) != nil {
		return
	}
	_, data, err := ws.Read(ctx)
	if err != nil {
		return
	}
	var sub client.SubscribeMessage
	if json.Unmarshal(data, &sub) != nil || sub.Type != client.TypeSubscribe {
		return
	}
	ack, _ := json.Marshal(client.SubscriptionAckMessage{Type: client.TypeSubscriptionAck, SubscriptionID: sub.Subscription.ID,
		BatchControl: client.BatchControl{Status: client.StatusReady}, Schema: []client.SchemaField{}})
	if ws.Write(ctx, websocket.MessageText, ack) != nil {
		return
	}
	// Encode this socket's frames once: the subscription ID, then gzip.
	frames := make([]replayFrame, len(r.frames))
	for i, f := range r.frames {
		b := bytes.Replace(f.data, []byte("{sub}"), []byte(sub.Subscription.ID), 1)
		frames[i] = replayFrame{websocket.MessageText, b}
		if compress && len(b) >= 512 {
			var z bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&z, gzip.BestSpeed)
			zw.Write(b)
			zw.Close()
			frames[i] = replayFrame{websocket.MessageBinary, z.Bytes()}
		}
	}
	bursts := make(chan int, 1)
	r.mu.Lock()
	r.conns[ws] = bursts
	r.mu.Unlock()
	r.ready <- struct{}{}
	go func() { // keep reading so pings and close frames are handled
		for {
			if _, _, err := ws.Read(ctx); err != nil {
				return
			}
		}
	}()
	for {
		select {
		case n := <-bursts:
			for i := range n {
				f := frames[i%len(frames)]
				if ws.Write(ctx, f.typ, f.data) != nil {
					return
				}
			}
		case <-ctx.Done():
			return
		}
	}
}

// WaitSubscribed waits until one more socket has subscribed.
func (r *Replay) WaitSubscribed(ctx context.Context) error {
	select {
	case <-r.ready:
		return nil
	case <-ctx.Done():
		return errors.New("replay: no subscription")
	}
}

// Burst makes every subscribed socket write n change frames.
func (r *Replay) Burst(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ch := range r.conns {
		ch <- n
	}
}

// Close stops the server.
func (r *Replay) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	r.srv.Shutdown(ctx)
	return r.srv.Close()
}

// DialBareURL is DialBare against any server URL with any token.
func DialBareURL(ctx context.Context, baseURL string, compress bool) (*Bare, error) {
	// The replay server accepts any token.
	return dialBare(ctx, "ws"+baseURL[len("http"):]+"/v1/ws", "x.y.z", compress, false, SQL)
}
