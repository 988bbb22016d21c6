package kalamtest

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/kalamtest/internal/sqlengine"
)

// subscription is one live query of a connection.
type subscription struct {
	id        string
	sql       string
	q         *sqlengine.LiveQuery
	opts      *subOptions // nil: subscribed without options (no initial data)
	batchSize int
	boundary  int64 // snapshot boundary: changes at or below it are in the snapshot
	batchNum  int
	// loading holds live changes back until the initial load is done
	// (final batch sent), as upstream's per-subscription buffer (3.10).
	loading   bool
	buffer    []outItem
	createdAt time.Time
	changes   int64
	stats     *subStats
}

func (wc *wsConn) subscribe(m inMsg) {
	s := wc.s
	id := m.subID
	if strings.TrimSpace(id) == "" {
		wc.sendError("invalid_subscription", "INVALID_SUBSCRIPTION_ID", "Subscription ID cannot be empty")
		return
	}
	wc.mu.Lock()
	caller := sqlengine.Caller{UserID: wc.userID, Role: wc.role}
	nsubs := len(wc.subs)
	wc.mu.Unlock()

	// Both caps count a subscribe that reuses a live id as a new one, as
	// upstream: the per-user count (subCounter) is checked and raised
	// again, and a full connection refuses even a replacement
	// (jamals86/KalamDB: backend/crates/kalamdb-api/src/ws/events/subscription.rs,
	// backend/crates/kalamdb-live/src/subscription.rs).
	if !s.subCounts.allow(caller.UserID, s.cfg.maxSubsPerUser, s.now()) {
		wc.sendError(id, "SUBSCRIPTION_LIMIT_EXCEEDED", "Maximum subscriptions reached")
		return
	}
	// batch_size is taken literally, 0 included (see page).
	batchSize := DefaultBatchSize
	if m.options != nil && m.options.BatchSize != nil {
		batchSize = int(min(*m.options.BatchSize, 1<<30))
	}
	if m.options != nil && m.options.LastRows != nil && *m.options.LastRows > int64(batchSize) {
		wc.sendError(id, "UNSUPPORTED", fmt.Sprintf(
			"last_rows (%d) cannot exceed batch_size (%d); paginated last_rows replay is not supported",
			*m.options.LastRows, batchSize))
		return
	}
	q, qerr := s.db.e.PrepareLive(caller, m.sql)
	if qerr != nil {
		wc.sendError(id, qerr.Code, qerr.Message)
		return
	}
	if nsubs >= s.cfg.maxSubsPerConn {
		wc.sendError(id, "UNSUPPORTED", fmt.Sprintf(
			"Invalid operation: Maximum subscriptions (%d) per connection exceeded", s.cfg.maxSubsPerConn))
		return
	}

	// A subscribe with options first waits until this node has applied
	// every committed change, so its snapshot is not behind the leader's
	// (upstream's LiveApplyBarrier, jamals86/KalamDB:
	// backend/crates/kalamdb-core/src/live_adapters.rs,
	// backend/crates/kalamdb-raft/src/manager/raft_group.rs).
	if m.options != nil {
		if err := s.waitApplied(s.ctx); err != nil {
			wc.sendError(id, "SUBSCRIPTION_FAILED", "Execution error: "+err.Error())
			return
		}
	}
	sub := &subscription{id: id, sql: m.sql, q: q, opts: m.options, batchSize: batchSize,
		loading: true, createdAt: s.now()}
	wc.mu.Lock()
	sub.stats = &subStats{conn: wc.id, user: wc.userID, id: id,
		serialization: wc.protocol.Serialization, compression: compressionName(wc.compress)}
	wc.subs[id] = sub
	s.fire.track(sub)
	// Read the boundary while the dispatcher cannot deliver to this
	// connection: later changes are either in the snapshot (≤ boundary,
	// dropped) or buffered (> boundary).
	sub.boundary = s.db.e.MaxSeq()
	wc.mu.Unlock()

	ack := client.SubscriptionAckMessage{Type: client.TypeSubscriptionAck, SubscriptionID: id,
		Schema: q.Schema()}
	if m.options == nil {
		s.subCounts.inc(caller.UserID, s.now())
		ack.BatchControl = client.BatchControl{BatchNum: 0, HasMore: false, Status: client.StatusReady}
		wc.mu.Lock()
		wc.pushLocked(outItem{kind: outMsg, data: true, v: ack})
		wc.goLiveLocked(sub)
		wc.mu.Unlock()
		return
	}

	var rows []client.Row
	var hasMore bool
	var err error
	seqs := s.seqs.Load()
	switch o := m.options; {
	case o.From != nil:
		// In this node's numbering: a from another node gave is compared
		// with this node's numbers, as upstream (cluster_seq.go).
		rows, hasMore, err = sub.page(seqs.engineSeq(o.From))
	case o.LastRows != nil:
		rows, err = q.Last(int(*o.LastRows), sub.boundary)
	default:
		rows, hasMore, err = sub.page(nil)
	}
	seqs.renumber(rows)
	if err != nil {
		wc.dropSub(id, sub) // never counted: the registration failed
		wc.sendError(id, "SUBSCRIPTION_FAILED", err.Error())
		return
	}
	s.subCounts.inc(caller.UserID, s.now())
	bc := batchControl(0, hasMore, rows)
	ack.BatchControl = bc
	wc.mu.Lock()
	defer wc.mu.Unlock()
	if wc.subs[id] != sub {
		return // unsubscribed or replaced meanwhile
	}
	wc.pushLocked(outItem{kind: outMsg, data: true, v: ack})
	wc.pushLocked(outItem{kind: outMsg, data: true, v: client.InitialDataBatchMessage{
		Type: client.TypeInitialDataBatch, SubscriptionID: id, Rows: nonNil(serdeFloatRows(rows)), BatchControl: bc}})
	if !hasMore {
		wc.goLiveLocked(sub)
	}
}

// page reads the next batch of the initial load: up to batchSize rows
// after `after` (nil: from the start) up to the snapshot boundary. A batch
// size of 0 reads nothing: upstream's fetch_initial_data returns at once for
// a zero limit, so the load ends with one empty, ready batch
// (last_seq_id null) and the subscription goes live with only the changes
// after its boundary (upstream backend/crates/kalamdb-live/src/helpers/initial_data.rs).
func (sub *subscription) page(after *int64) (rows []client.Row, hasMore bool, err error) {
	if sub.batchSize == 0 {
		return nil, false, nil
	}
	return sub.q.Page(after, sub.boundary, sub.batchSize)
}

func (wc *wsConn) nextBatch(m inMsg) {
	wc.mu.Lock()
	sub := wc.subs[m.subID]
	wc.mu.Unlock()
	if sub == nil {
		wc.sendError(m.subID, "BATCH_FETCH_FAILED", "Not found: Subscription not found: "+m.subID)
		return
	}
	if sub.opts == nil {
		wc.sendError(m.subID, "BATCH_FETCH_FAILED", "Invalid operation: Subscription "+m.subID+" was created without initial data loading")
		return
	}
	// A missing last_seq_id restarts the snapshot from its beginning (even
	// for a resumed subscription), as upstream.
	seqs := wc.s.seqs.Load()
	rows, hasMore, err := sub.page(seqs.engineSeq(m.lastSeq))
	if err != nil {
		wc.sendError(m.subID, "BATCH_FETCH_FAILED", err.Error())
		return
	}
	seqs.renumber(rows)
	wc.mu.Lock()
	defer wc.mu.Unlock()
	if wc.subs[m.subID] != sub {
		return
	}
	sub.batchNum++
	bc := batchControl(sub.batchNum, hasMore, rows)
	wc.pushLocked(outItem{kind: outMsg, data: true, v: client.InitialDataBatchMessage{
		Type: client.TypeInitialDataBatch, SubscriptionID: m.subID, Rows: nonNil(serdeFloatRows(rows)), BatchControl: bc}})
	if !hasMore {
		wc.goLiveLocked(sub)
	}
}

// goLiveLocked ends the initial-load gate: buffered changes follow the
// final batch, then changes flow as they commit.
func (wc *wsConn) goLiveLocked(sub *subscription) {
	if !sub.loading {
		return
	}
	sub.loading = false
	for _, it := range sub.buffer {
		wc.pushLocked(it)
	}
	sub.buffer = nil
}

// unsubscribe removes the subscription id if the connection holds it and,
// like upstream, lowers the user's subscription count either way: an
// unsubscribe for an id never registered (say, after a refused subscribe)
// pushes the count below the real number
// (jamals86/KalamDB: backend/crates/kalamdb-api/src/ws/events/unsubscribe.rs).
// A closing socket goes through here once per subscription it holds.
func (wc *wsConn) unsubscribe(id string) {
	wc.mu.Lock()
	sub, user := wc.subs[id], wc.userID
	wc.mu.Unlock()
	if sub != nil {
		wc.dropSub(id, sub)
	}
	wc.s.subCounts.dec(user, wc.s.now())
}

func (wc *wsConn) dropSub(id string, sub *subscription) {
	wc.mu.Lock()
	if wc.subs[id] == sub {
		delete(wc.subs, id)
		wc.endDropRunLocked(id, "subscription ended while its notifications were being dropped")
		sub.stats.ended.Store(true)
		wc.s.fire.ended(sub)
	}
	wc.mu.Unlock()
}

// deliver fans one change out to this connection's subscriptions (called
// by the dispatcher, in commit order, and by the firehose). The frame is
// f's: encoded once for every subscription of its group on any socket.
func (wc *wsConn) deliver(f *fanout) {
	ch := f.ch
	wc.mu.Lock()
	defer wc.mu.Unlock()
	for _, sub := range wc.subs {
		if sub.q.Namespace() != ch.Namespace || sub.q.Table() != ch.Table || ch.Seq <= sub.boundary {
			continue
		}
		fr := f.frame(frameKey{subID: sub.id, sql: sub.sql, user: wc.userID,
			msgpack: wc.protocol.Serialization == "msgpack", compress: wc.compress}, sub)
		if fr == nil {
			continue
		}
		sub.changes++
		it := outItem{kind: outMsg, data: true, frame: fr, stats: sub.stats}
		if sub.loading {
			if len(sub.buffer) >= DefaultInitialBuffer {
				sub.buffer = sub.buffer[1:] // drop the oldest, as upstream
				sub.stats.dropped.Add(1)
			}
			sub.buffer = append(sub.buffer, it)
			continue
		}
		it.notify, it.subID = true, sub.id
		wc.pushLocked(it)
	}
}

// compressionName names a socket's compression as the firehose reports it.
func compressionName(compress bool) string {
	if compress {
		return "gzip"
	}
	return "none"
}

func batchControl(num int, hasMore bool, rows []client.Row) client.BatchControl {
	bc := client.BatchControl{BatchNum: num, HasMore: hasMore, Status: client.StatusReady}
	if hasMore {
		bc.Status = client.StatusLoadingBatch
		if num == 0 {
			bc.Status = client.StatusLoading
		}
	}
	if len(rows) > 0 {
		if seq, ok := rows[len(rows)-1].Seq(); ok {
			bc.LastSeqID = &seq
		}
	}
	return bc
}

func nonNil(rows []client.Row) []client.Row {
	if rows == nil {
		return []client.Row{}
	}
	return rows
}

func optionsJSON(o *subOptions) *string {
	if o == nil {
		return nil
	}
	b, err := json.Marshal(o)
	if err != nil {
		return nil
	}
	str := string(b)
	return &str
}
