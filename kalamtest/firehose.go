package kalamtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The firehose is a kalamtest-only load source: a shared, public table
// whose changes are generated (never stored) at a configured rate, so any
// KalamDB client can subscribe to a stream of known shape and pace with
// plain SQL. Each change is encoded once per group of identical frames
// (fanout.go) and written to every subscriber; each subscriber's sent and
// dropped counts are on FirehosePath and logged when it ends and when the
// server stops.
const (
	FirehoseNamespace = "firehose"
	FirehoseTable     = "events"
	// FirehoseSQL is the live query that subscribes to the firehose.
	FirehoseSQL = "SELECT * FROM firehose.events"
	// FirehosePath is the endpoint that reports the firehose's counts as
	// JSON (FirehoseReport). It is kalamtest's own, not KalamDB's.
	FirehosePath = "/kalamtest/firehose"
	// MaxFirehoseRowBytes bounds a generated row's payload.
	MaxFirehoseRowBytes = 512 << 10
)

// FirehoseConfig configures WithFirehose.
type FirehoseConfig struct {
	// Rate is changes per second, counted from when the first subscriber
	// arrives. 0 generates as fast as the sockets take them: the next
	// change waits until every subscriber's socket queue has room, so
	// nothing is ever dropped and the slowest subscriber sets the pace.
	Rate int
	// RowBytes is the length of each row's payload column.
	RowBytes int
}

// WithFirehose creates the table firehose.events (id BIGINT PRIMARY KEY,
// payload TEXT; SHARED, PUBLIC) and generates inserts into it while
// anyone subscribes: ids 1, 2, 3…, each with a fresh, growing _seq.
func WithFirehose(fc FirehoseConfig) Option { return func(c *config) { c.firehose = &fc } }

// FirehoseReport is what FirehosePath answers.
type FirehoseReport struct {
	Rate     int `json:"rate"` // 0: as fast as the sockets take them
	RowBytes int `json:"row_bytes"`
	// At is when the counts were read, on the server's real clock (the
	// generator's): rates from two reports need no request timing.
	At        time.Time `json:"at"`
	Generated uint64    `json:"generated"` // changes generated so far
	// Skipped counts changes that came due while the generator was more
	// than FirehoseCatchUp late (the server's process did not run): they
	// are not generated, so the stream never runs faster than the rate
	// to catch up. Anything skipped means the server missed the rate.
	Skipped uint64 `json:"skipped"`
	// Encodes counts change frames serialized by every fan-out of the
	// server (the firehose's and the SQL engine's): once per group of
	// identical frames, however many sockets receive them.
	Encodes     uint64               `json:"encodes"`
	Subscribers []FirehoseSubscriber `json:"subscribers"`
}

// FirehoseSubscriber is one subscription to the firehose, ended or not.
type FirehoseSubscriber struct {
	Conn           uint64 `json:"conn"`
	User           string `json:"user"`
	SubscriptionID string `json:"subscription_id"`
	Serialization  string `json:"serialization"`
	Compression    string `json:"compression"`
	Sent           uint64 `json:"sent"`    // changes written to the socket
	Dropped        uint64 `json:"dropped"` // changes dropped: its queue was full
	// DroppedSocketFull counts the drops that happened after the socket
	// had filled up (the kernel's buffers toward the subscriber held all
	// they could) and before its writer caught up again: the subscriber
	// was reading slower than the rate. The others overflowed the queue
	// while the socket had room — the server's writer fell behind, not
	// the reader. (Unix only; elsewhere it stays 0.)
	DroppedSocketFull uint64 `json:"dropped_socket_full"`
	Active            bool   `json:"active"`
}

type firehose struct {
	s       *Server
	cfg     FirehoseConfig
	payload string
	room    chan struct{} // poked when a writer takes a notification off its queue

	mu        sync.Mutex
	subs      []*subStats // every subscriber, in subscribe order
	nextID    int64
	generated atomic.Uint64
	skipped   atomic.Uint64
}

func validateFirehose(fc FirehoseConfig) error {
	if fc.Rate < 0 {
		return fmt.Errorf("kalamtest: firehose rate %d: must be ≥ 0 (0: as fast as the sockets take them)", fc.Rate)
	}
	if fc.RowBytes < 0 || fc.RowBytes > MaxFirehoseRowBytes {
		return fmt.Errorf("kalamtest: firehose row size %d: must be 0…%d bytes", fc.RowBytes, MaxFirehoseRowBytes)
	}
	return nil
}

// startFirehose creates the table and starts the generator.
func (s *Server) startFirehose(fc FirehoseConfig) error {
	for _, q := range []string{
		"CREATE NAMESPACE IF NOT EXISTS " + FirehoseNamespace,
		"CREATE TABLE " + FirehoseNamespace + "." + FirehoseTable +
			" (id BIGINT PRIMARY KEY, payload TEXT) WITH (TYPE = 'SHARED', ACCESS_LEVEL = 'PUBLIC')",
	} {
		if _, err := s.Exec("root", q); err != nil {
			return fmt.Errorf("kalamtest: firehose: %s: %w", q, err)
		}
	}
	s.fire = &firehose{s: s, cfg: fc, payload: RowText(fc.RowBytes, 0), room: make(chan struct{}, 1)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.fire.run()
	}()
	s.log.Info("firehose on", "sql", FirehoseSQL, "rate", fc.Rate, "row_bytes", fc.RowBytes, "counts", FirehosePath)
	return nil
}

// track registers sub if it subscribes to the firehose (nil-safe).
func (f *firehose) track(sub *subscription) {
	if f == nil || !isFirehose(sub) {
		return
	}
	f.mu.Lock()
	f.subs = append(f.subs, sub.stats)
	f.mu.Unlock()
}

// ended logs a firehose subscription's counts when it ends (nil-safe).
func (f *firehose) ended(sub *subscription) {
	if f == nil || !isFirehose(sub) {
		return
	}
	f.logSubscriber("firehose subscriber ended", sub.stats)
}

// roomMade wakes a generator waiting for queue room (nil-safe, cheap).
func (f *firehose) roomMade() {
	if f == nil {
		return
	}
	select {
	case f.room <- struct{}{}:
	default:
	}
}

func isFirehose(sub *subscription) bool {
	return sub.q.Namespace() == FirehoseNamespace && sub.q.Table() == FirehoseTable
}

func (f *firehose) logSubscriber(msg string, st *subStats) {
	f.s.log.Info(msg, "conn", st.conn, "user", st.user, "subscription_id", st.id,
		"serialization", st.serialization, "compression", st.compression,
		"sent", st.sent.Load(), "dropped", st.dropped.Load(), "dropped_socket_full", st.droppedFull.Load())
}

// logReport logs every subscriber's counts (at Close).
func (f *firehose) logReport() {
	r := f.report()
	f.s.log.Info("firehose stopped", "generated", r.Generated, "skipped", r.Skipped, "encodes", r.Encodes, "subscribers", len(r.Subscribers))
	f.mu.Lock()
	subs := append([]*subStats(nil), f.subs...)
	f.mu.Unlock()
	for _, st := range subs {
		f.logSubscriber("firehose subscriber", st)
	}
}

func (f *firehose) report() FirehoseReport {
	r := FirehoseReport{Rate: f.cfg.Rate, RowBytes: f.cfg.RowBytes, At: time.Now(), Generated: f.generated.Load(),
		Skipped: f.skipped.Load(),
		Encodes: f.s.encodes.Load(), Subscribers: []FirehoseSubscriber{}}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, st := range f.subs {
		r.Subscribers = append(r.Subscribers, FirehoseSubscriber{Conn: st.conn, User: st.user,
			SubscriptionID: st.id, Serialization: st.serialization, Compression: st.compression,
			Sent: st.sent.Load(), Dropped: st.dropped.Load(), DroppedSocketFull: st.droppedFull.Load(),
			Active: !st.ended.Load()})
	}
	return r
}

// Firehose reports the firehose's counts; ok is false without WithFirehose.
func (s *Server) Firehose() (r FirehoseReport, ok bool) {
	if s.fire == nil {
		return FirehoseReport{}, false
	}
	return s.fire.report(), true
}

func (s *Server) handleFirehose(w http.ResponseWriter, _ *http.Request) {
	r, ok := s.Firehose()
	if !ok {
		http.Error(w, "no firehose: start the server with WithFirehose (kalamdash serve --firehose)", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(r)
}

// firehoseChunk is the most changes generated between looks at the clock
// and the subscribers' queues: a quarter of KalamDB's 128-deep queue, so
// a generator that is behind catches up in steps the sockets' writers
// take as they come, never in one burst that overflows a queue a reader
// keeping up would have emptied.
const firehoseChunk = 32

// FirehoseCatchUp is how late the generator may fall behind its rate and
// still catch up (a chunk at a time, as fast as it can); changes due
// longer ago than that are skipped (FirehoseReport.Skipped).
const FirehoseCatchUp = 20 * time.Millisecond

// run generates changes until the server stops, only while someone
// subscribes (the ids keep growing across idle spells). At a rate, the
// changes are due evenly from when the first subscriber arrived; the
// generator sleeps until the next one is due and, when it was late (the
// process was not scheduled), catches up a chunk at a time — at most
// FirehoseCatchUp's worth, skipping the rest.
func (f *firehose) run() {
	ctx := f.s.ctx
	var start time.Time // when the current paced run began
	var base uint64     // generated at start
	for ctx.Err() == nil {
		conns, room := f.subscribers()
		if len(conns) == 0 {
			start = time.Time{}
			f.wait(10*time.Millisecond, f.room)
			continue
		}
		var n int
		if f.cfg.Rate > 0 {
			if start.IsZero() {
				start, base = time.Now(), f.generated.Load()
			}
			elapsed := time.Since(start)
			due := base + uint64(elapsed.Seconds()*float64(f.cfg.Rate))
			late := due - min(due, f.generated.Load())
			if limit := uint64(FirehoseCatchUp.Seconds() * float64(f.cfg.Rate)); late > max(limit, firehoseChunk) {
				f.skipped.Add(late)
				start, base = time.Now(), f.generated.Load()
				continue
			}
			n = int(min(late, firehoseChunk))
			if n == 0 {
				// Until the next change is due (Go's timers wake no
				// sooner than about a millisecond; the chunks catch up).
				next := time.Duration(float64(due+1-base) / float64(f.cfg.Rate) * float64(time.Second))
				f.wait(next-elapsed, nil)
				continue
			}
		} else {
			if room <= 0 {
				f.wait(10*time.Millisecond, f.room) // or until a writer makes room
				continue
			}
			n = min(room, firehoseChunk)
		}
		if err := f.emit(n, conns); err != nil {
			f.s.log.Warn("firehose stopped", "err", err)
			return
		}
		// Let the sockets' writers run between chunks even when the
		// process has one thread to spare: a generator catching up
		// must not fill their queues while they wait for it.
		runtime.Gosched()
	}
}

// wait sleeps up to d, less if the server stops or something arrives on
// wake (nil: nothing wakes it).
func (f *firehose) wait(d time.Duration, wake <-chan struct{}) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-f.s.ctx.Done():
	case <-wake:
	case <-t.C:
	}
}

// subscribers returns the sockets with a live firehose subscription and
// the least queue room among them.
func (f *firehose) subscribers() (conns []*wsConn, room int) {
	room = f.s.cfg.notifyQueue
	for _, c := range f.s.connList() {
		c.mu.Lock()
		for _, sub := range c.subs {
			if isFirehose(sub) {
				conns = append(conns, c)
				room = min(room, f.s.cfg.notifyQueue-c.pending)
				break
			}
		}
		c.mu.Unlock()
	}
	return conns, room
}

// emit generates n changes and fans each out to conns.
func (f *firehose) emit(n int, conns []*wsConn) error {
	rows := make([]map[string]any, n)
	f.mu.Lock()
	for i := range rows {
		f.nextID++
		rows[i] = map[string]any{"id": f.nextID, "payload": f.payload}
	}
	f.mu.Unlock()
	changes, err := f.s.db.e.UnstoredInserts(FirehoseNamespace, FirehoseTable, rows)
	if err != nil {
		return err
	}
	for _, ch := range changes {
		fo := &fanout{ch: ch, encodes: &f.s.encodes}
		for _, c := range conns {
			c.deliver(fo)
		}
		f.generated.Add(1)
	}
	return nil
}

// RowText returns n bytes of text that gzip shrinks about as much as
// typical row data (about 2:1), not the 100:1 a repeated letter would; each
// seed gives a different text. The firehose's rows and the benchmarks'
// bodies are made of it.
func RowText(n int, seed uint32) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.-"
	b := make([]byte, n)
	x := uint32(2463534242) + seed*2654435761
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = alphabet[x%uint32(len(alphabet))]
	}
	return string(b)
}
