package client

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// SubEventKind says what a SubEvent carries.
type SubEventKind uint8

// Kinds of subscription events.
const (
	SubAck    SubEventKind = iota + 1 // subscription_ack: Schema, Batch
	SubBatch                          // initial_data_batch: Rows, Batch
	SubInsert                         // change/insert: Rows
	SubUpdate                         // change/update: Rows (new), OldValues (changed columns)
	SubDelete                         // change/delete: OldValues
	SubError                          // error frame for this subscription: Err, Code
	// SubGap: the client knows changes were lost; Err says which: a
	// WithoutInitialData subscription resumed before it saw any _seq, or
	// events dropped because the consumer of Events fell too far behind
	// (see WithQueueLimit). KalamDB's _seq is a global Snowflake, so a
	// server dropping notifications (its 128-entry queue) leaves no gap
	// the client can see, and a resume never replays deletions made
	// during the outage.
	SubGap
)

// String names the kind.
func (k SubEventKind) String() string {
	switch k {
	case SubAck:
		return "ack"
	case SubBatch:
		return "batch"
	case SubInsert:
		return "insert"
	case SubUpdate:
		return "update"
	case SubDelete:
		return "delete"
	case SubError:
		return "error"
	case SubGap:
		return "gap"
	}
	return "?"
}

// SubEvent is one event of a subscription. Row values keep KalamDB's
// encoding (BIGINT and _seq as strings, other numbers json.Number).
type SubEvent struct {
	Kind           SubEventKind
	SubscriptionID string
	Time           time.Time
	ConnID         uint64 // socket that carried it
	Schema         []SchemaField
	Batch          BatchControl
	Rows           []Row
	OldValues      []Row
	Err            error
	Code           string
	Resumed        bool // SubAck: first ack after a reconnect (subscribe re-sent with from)
	Dropped        int  // rows dropped as replays of already delivered ones
	// PrevNode is set on the SubAck of a resume on another cluster node
	// than the one the subscription was acknowledged on before: that
	// node's base URL. Each node assigns _seq itself when it applies a
	// change (jamals86/KalamDB: kalamdb-tables user_table_provider.rs
	// generate_seq_ids, worker bits from the node id in kalamdb-core
	// app_context.rs), so the from sent is in PrevNode's numbering and
	// the resume may replay changes already delivered or skip some.
	PrevNode string
}

// SubOption configures a subscription.
type SubOption func(*subOptions)

type subOptions struct {
	batchSize *int
	lastRows  *int
	from      *int64
	id        string
	noInitial bool
	maxQueue  int
	eventBuf  int
	errs      []error // invalid options, reported by Subscribe
}

// DefaultQueueLimit is how many events a subscription holds for a consumer
// that is not reading Events, unless WithQueueLimit says otherwise.
const DefaultQueueLimit = 1 << 16

// WithQueueLimit bounds the events queued for a slow consumer of Events
// (default DefaultQueueLimit). Beyond it new events are dropped, and one
// SubGap event saying how many were lost is delivered once there is room
// again, so memory stays bounded while the read loop never waits.
func WithQueueLimit(n int) SubOption { return func(o *subOptions) { o.maxQueue = n } }

// WithSubEventBuffer gives the Events channel a buffer of n events (default
// none). A consumer that takes events in bursts then wakes once per burst
// instead of once per event, which is most of what a fast stream costs it;
// the buffer holds up to n events on top of WithQueueLimit's.
func WithSubEventBuffer(n int) SubOption {
	return func(o *subOptions) {
		if n < 0 {
			o.errs = append(o.errs, fmt.Errorf("WithSubEventBuffer(%d): must be ≥ 0", n))
			return
		}
		o.eventBuf = n
	}
}

// WithBatchSize sets rows per initial-data batch (server default 1000).
// KalamDB takes 0 literally: it loads no existing row, answers with one
// empty batch that is already ready, and the subscription receives only
// the changes made after it subscribed (unlike WithoutInitialData, the ack
// is followed by that batch). After a reconnect it resumes from the last
// change it delivered and loads, in server-sized batches, the rows changed
// while the socket was down; before its first change there is nothing to
// resume from, and changes made while the socket was down are missed.
// n must not be negative (KalamDB would close the socket).
func WithBatchSize(n int) SubOption {
	return func(o *subOptions) {
		if n < 0 {
			o.errs = append(o.errs, fmt.Errorf("WithBatchSize(%d): must be ≥ 0", n))
			return
		}
		o.batchSize = &n
	}
}

// WithLastRows loads only the newest n rows as initial data; n must be
// between 0 and 2^32-1 and, as KalamDB requires, at most the batch size.
func WithLastRows(n int) SubOption {
	return func(o *subOptions) {
		if n < 0 || int64(n) > math.MaxUint32 {
			o.errs = append(o.errs, fmt.Errorf("WithLastRows(%d): must be between 0 and %d", n, uint32(math.MaxUint32)))
			return
		}
		o.lastRows = &n
	}
}

// WithFrom loads only rows with _seq > seq as initial data.
func WithFrom(seq int64) SubOption { return func(o *subOptions) { o.from = &seq } }

// WithSubscriptionID sets the subscription id (default "sub-<unique>").
func WithSubscriptionID(id string) SubOption { return func(o *subOptions) { o.id = id } }

// WithoutInitialData subscribes to changes only ("options": null).
func WithoutInitialData() SubOption { return func(o *subOptions) { o.noInitial = true } }

// skipsExisting reports whether the subscription loads no existing rows
// (no initial data, or a batch size of 0): only its changes, if any, give
// a resume something to start from.
func (o subOptions) skipsExisting() bool {
	return o.noInitial || (o.batchSize != nil && *o.batchSize == 0)
}

// Subscription is one live query multiplexed on the client's socket. It
// survives reconnects: the client re-sends it with options.from = the
// highest _seq delivered and drops replayed rows.
type Subscription struct {
	c   *Client
	id  string
	sql string
	o   subOptions

	mu         sync.Mutex
	lastSeq    int64
	hasSeq     bool
	resumeFrom int64
	filter     bool // drop rows with _seq <= resumeFrom
	acked      bool
	resumeAck  bool     // the next ack answers a re-sent subscribe
	ackNode    *url.URL // the node of the last ack
	ackCh      chan error
	queue      []SubEvent
	overflow   int // events dropped since the queue was last below the limit
	ended      bool

	signal   chan struct{}
	done     chan struct{}
	doneOnce sync.Once
	out      chan SubEvent
}

// ID returns the subscription id used on the wire.
func (s *Subscription) ID() string { return s.id }

// SQL returns the subscribed query.
func (s *Subscription) SQL() string { return s.sql }

// Events returns the subscription's events, in wire order. The client
// queues them so the read loop never waits for a slow consumer, up to
// WithQueueLimit events; beyond that it drops them and reports the loss
// as a SubGap. The channel is closed after Unsubscribe or Close.
func (s *Subscription) Events() <-chan SubEvent { return s.out }

// LastSeq returns the highest _seq delivered (0 if none yet).
func (s *Subscription) LastSeq() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastSeq
}

// Subscribe starts a live query and waits for its acknowledgement. In
// lazy mode it opens the socket first. sql must be a SELECT on
// namespace.table, as KalamDB requires. The returned error is an *Error of
// kind KindSubscription when the server refused it.
func (c *Client) Subscribe(ctx context.Context, sql string, opts ...SubOption) (*Subscription, error) {
	s := &Subscription{c: c, sql: sql, ackCh: make(chan error, 1), signal: make(chan struct{}, 1),
		done: make(chan struct{})}
	for _, o := range opts {
		if o != nil {
			o(&s.o)
		}
	}
	s.out = make(chan SubEvent, s.o.eventBuf)
	if len(s.o.errs) > 0 {
		return nil, &Error{Kind: KindOther, Op: "subscribe", Message: "invalid subscription options", Err: errors.Join(s.o.errs...)}
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClientClosed
	}
	s.id = s.o.id
	if s.id == "" {
		c.subSerial++
		s.id = "sub-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + strconv.FormatUint(c.subSerial, 10)
	}
	if _, dup := c.subs[s.id]; dup {
		c.mu.Unlock()
		return nil, &Error{Kind: KindSubscription, Op: "subscribe", Message: fmt.Sprintf("subscription id %q is already in use on this client", s.id)}
	}
	c.subs[s.id] = s
	conn := c.conn
	c.wg.Add(1)
	c.mu.Unlock()
	go s.pump()

	if conn != nil {
		s.sendSubscribe(conn)
	} else {
		c.ensureSocket()
	}
	var err error
	select {
	case err = <-s.ackCh:
	case <-ctx.Done():
		err = &Error{Kind: KindTimeout, Op: "subscribe", Message: "no subscription_ack before the context ended", Err: ctx.Err()}
	case <-c.ctx.Done():
		err = ErrClientClosed
	}
	if err != nil {
		_ = s.Unsubscribe(context.Background())
		return nil, err
	}
	return s, nil
}

// wireOptions builds the subscribe options: a resume sends from = the
// last delivered _seq; otherwise the caller's options ({} by default,
// null for WithoutInitialData). A batch size of 0 asks for no existing
// rows, which a resume must not inherit: it would skip the rows changed
// while the socket was down, so a resume leaves it to the server.
func (s *Subscription) wireOptions() *SubscriptionOptions {
	if s.hasSeq {
		from := s.lastSeq
		batch := s.o.batchSize
		if s.o.skipsExisting() {
			batch = nil
		}
		return &SubscriptionOptions{BatchSize: batch, From: &from}
	}
	if s.o.noInitial {
		return nil
	}
	return &SubscriptionOptions{BatchSize: s.o.batchSize, LastRows: s.o.lastRows, From: s.o.from}
}

// sendSubscribe sends (or re-sends) the subscription on wc and reports
// whether it is a resume of an acknowledged subscription.
func (s *Subscription) sendSubscribe(wc *wsConn) bool {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return false
	}
	resume := s.acked
	gap := resume && !s.hasSeq && s.o.skipsExisting()
	s.resumeAck = resume
	if s.hasSeq {
		s.resumeFrom, s.filter = s.lastSeq, true
	}
	msg := SubscribeMessage{Type: TypeSubscribe, Subscription: SubscriptionRequest{ID: s.id, SQL: s.sql, Options: s.wireOptions()}}
	s.mu.Unlock()
	if gap {
		s.push(SubEvent{Kind: SubGap, ConnID: wc.id, Err: &Error{Kind: KindSubscription, Op: "resume",
			Message: "subscription that skips existing rows had no _seq to resume from: changes during the outage are lost"}})
	}
	_ = wc.send(wc.ctx, msg) // a failed send means the socket is dying; the next one re-sends
	return resume
}

// Unsubscribe stops the subscription (the server does not answer) and
// closes its Events channel. Frames already in flight are dropped.
func (s *Subscription) Unsubscribe(ctx context.Context) error {
	c := s.c
	conn := c.forget(s)
	s.mu.Lock()
	was := s.ended
	s.ended = true
	s.mu.Unlock()
	s.finish(nil)
	if was || conn == nil {
		return nil
	}
	if err := conn.send(ctx, UnsubscribeMessage{Type: TypeUnsubscribe, SubscriptionID: s.id}); err != nil {
		return classifyNetErr("unsubscribe", c.URL(), err)
	}
	return nil
}

// forget removes s from the client's subscriptions (a later subscribe may
// reuse its id) and returns the current socket.
func (c *Client) forget(s *Subscription) *wsConn {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.subs[s.id] == s {
		delete(c.subs, s.id)
	}
	return c.conn
}

func (s *Subscription) finish(err error) {
	s.doneOnce.Do(func() {
		s.mu.Lock()
		s.ended = true
		s.mu.Unlock()
		select {
		case s.ackCh <- err:
		default:
		}
		close(s.done)
	})
}

func (s *Subscription) push(ev SubEvent) {
	ev.SubscriptionID = s.id
	if ev.Time.IsZero() {
		ev.Time = s.c.now()
	}
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	limit := s.o.maxQueue
	if limit <= 0 {
		limit = DefaultQueueLimit
	}
	if len(s.queue) >= limit {
		s.overflow++
		s.mu.Unlock()
		return
	}
	if s.overflow > 0 {
		s.queue = append(s.queue, SubEvent{Kind: SubGap, SubscriptionID: s.id, Time: ev.Time, ConnID: ev.ConnID,
			Err: &Error{Kind: KindSubscription, Op: "events", Message: fmt.Sprintf(
				"%d events dropped: the consumer of Events fell more than %d events behind", s.overflow, limit)}})
		s.overflow = 0
	}
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// pump moves queued events to the Events channel; it ends with the
// subscription and is the only goroutine that closes out. It takes the
// whole queue at once (swapping it with its drained buffer), so the read
// loop and the pump meet on the lock once per batch, not once per event.
func (s *Subscription) pump() {
	defer s.c.wg.Done()
	defer close(s.out)
	var batch []SubEvent
	for {
		s.mu.Lock()
		batch, s.queue = s.queue, batch[:0]
		s.mu.Unlock()
		if len(batch) == 0 {
			select {
			case <-s.signal:
				continue
			case <-s.done:
				return
			}
		}
		for i := range batch {
			select {
			case s.out <- batch[i]:
				batch[i] = SubEvent{} // let the rows go
			case <-s.done:
				return
			}
		}
	}
}
