package session

import (
	"context"
	"fmt"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// SubscribeOptions tune a live query. The zero value loads all current rows
// in server-sized batches.
type SubscribeOptions struct {
	ID string // subscription ID; empty: the client picks one
	// BatchSize is the rows per initial batch; nil: the server's default.
	// KalamDB takes 0 literally: no existing row is loaded, and the
	// subscription shows only changes made after it (client.WithBatchSize).
	BatchSize *int
	// LastRows loads only the newest n rows; nil: all. 0 loads none, as a
	// BatchSize of 0 does.
	LastRows      *int
	From          int64 // load only rows with _seq > From; 0: all
	NoInitialData bool  // skip the initial load; changes only
}

// Subscribe starts a live query and keeps its rows in a live table (see
// Snapshot().Subs and SubRows). It returns the subscription ID.
func (c *Conn) Subscribe(ctx context.Context, sql string, o SubscribeOptions) (string, error) {
	sub, err := c.startSubscription(ctx, sql, o)
	if err != nil {
		return "", err
	}
	id := sub.ID()
	t := newLiveTable(id, sql, c.m.o.liveRowCap, c.clock.Now())
	t.opts, t.partial = o, partialLoad(o)
	c.mu.Lock()
	if _, dup := c.subs[id]; !dup {
		c.subOrder = append(c.subOrder, id)
	}
	c.subs[id] = t
	c.subHandles[id] = sub
	c.mu.Unlock()
	c.wg.Add(1)
	go c.subPump(id, sub)
	c.m.emit(SubscriptionChangedEvent{Conn: c.name})
	return id, nil
}

// startSubscription sends the subscribe with o's options.
func (c *Conn) startSubscription(ctx context.Context, sql string, o SubscribeOptions) (*client.Subscription, error) {
	cl, err := c.client()
	if err != nil {
		return nil, err
	}
	// subPump takes events a batch at a time: buffered, they wake it once
	// per batch.
	opts := []client.SubOption{client.WithSubEventBuffer(subPumpBatch)}
	if o.ID != "" {
		opts = append(opts, client.WithSubscriptionID(o.ID))
	}
	if o.BatchSize != nil {
		opts = append(opts, client.WithBatchSize(*o.BatchSize))
	}
	if o.LastRows != nil {
		opts = append(opts, client.WithLastRows(*o.LastRows))
	}
	if o.From > 0 {
		opts = append(opts, client.WithFrom(o.From))
	}
	if o.NoInitialData {
		opts = append(opts, client.WithoutInitialData())
	}
	return cl.Subscribe(ctx, sql, opts...)
}

// Repair makes a subscription's rows right again by subscribing afresh
// under the same ID: the old live query is unsubscribed, the table is
// emptied (counters and history kept) and the initial load refills it
// from the server. Use it after Verify found differences; it is recorded
// in the subscription's history. A subscription that loaded only part of
// the table (from a _seq, the last N rows, batch 0 or no initial data) is
// reloaded whole, since only a full load can bring back what it missed.
func (c *Conn) Repair(ctx context.Context, id string) error {
	c.mu.Lock()
	t, old := c.subs[id], c.subHandles[id]
	c.mu.Unlock()
	if t == nil {
		return fmt.Errorf("no subscription %q", id)
	}
	c.mu.Lock()
	sql, o := t.snap.SQL, t.opts
	c.mu.Unlock()
	if old != nil {
		// Detach the old handle first, so its pump (and any event still
		// in its queue) no longer touches the table.
		c.mu.Lock()
		delete(c.subHandles, id)
		c.mu.Unlock()
		_ = old.Unsubscribe(ctx) // the socket may be down; the new subscribe stands on its own
	}
	o.ID, o.From, o.NoInitialData, o.LastRows = id, 0, false, nil
	if o.BatchSize != nil && *o.BatchSize == 0 {
		o.BatchSize = nil
	}
	sub, err := c.startSubscription(ctx, sql, o)
	now := c.clock.Now()
	c.mu.Lock()
	if c.subs[id] != t {
		c.mu.Unlock()
		if sub != nil {
			_ = sub.Unsubscribe(ctx)
		}
		return fmt.Errorf("subscription %q was removed during the repair", id)
	}
	if err != nil {
		t.snap.Status, t.snap.Err = SubFailed, "repair: "+errText(err)
		t.note("repair", "re-subscribe failed: "+errText(err), now)
		c.mu.Unlock()
		c.m.emit(SubscriptionChangedEvent{Conn: c.name})
		return err
	}
	kept := len(t.rows)
	t.reset(now)
	t.opts, t.partial = o, false // reloaded whole
	t.snap.Repairs++
	t.note("repair", fmt.Sprintf("re-subscribed: the %d rows kept were dropped and the server's rows reloaded", kept), now)
	c.subHandles[id] = sub
	c.mu.Unlock()
	c.wg.Add(1)
	go c.subPump(id, sub)
	c.m.emit(SubscriptionChangedEvent{Conn: c.name})
	return nil
}

// Unsubscribe stops a subscription; its table stays visible with status
// closed until Forget.
func (c *Conn) Unsubscribe(ctx context.Context, id string) error {
	c.mu.Lock()
	sub := c.subHandles[id]
	delete(c.subHandles, id)
	if t := c.subs[id]; t != nil {
		t.snap.Status = SubClosed
	}
	c.mu.Unlock()
	if sub == nil {
		return fmt.Errorf("no live subscription %q", id)
	}
	c.m.emit(SubscriptionChangedEvent{Conn: c.name})
	return sub.Unsubscribe(ctx)
}

// Forget removes a closed subscription's table.
func (c *Conn) Forget(id string) {
	c.mu.Lock()
	if _, live := c.subHandles[id]; !live {
		delete(c.subs, id)
		for i, x := range c.subOrder {
			if x == id {
				c.subOrder = append(c.subOrder[:i], c.subOrder[i+1:]...)
				break
			}
		}
	}
	c.mu.Unlock()
	c.m.emit(SubscriptionChangedEvent{Conn: c.name})
}

// Subscription returns one subscription's summary.
func (c *Conn) Subscription(id string) (SubSnapshot, bool) {
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.subs[id]
	if t == nil {
		return SubSnapshot{}, false
	}
	return t.snapshot(now), true
}

// SubRows returns up to n rows of a live table from offset, in arrival
// order. Row maps are shared and must not be modified.
func (c *Conn) SubRows(id string, offset, n int) []LiveRow {
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.subs[id]
	if t == nil {
		return nil
	}
	return t.page(now, offset, n)
}

// subPump applies a subscription's events to its live table, emitting at
// most one SubscriptionChanged per pump interval. It takes whatever events
// are waiting at once (one lock, one clock reading per batch) and then
// lingers for pumpLinger, so that under a stream it wakes about once per
// linger, not once per event; the first event after a quiet spell is
// applied at once.
func (c *Conn) subPump(id string, sub *client.Subscription) {
	defer c.wg.Done()
	pace := newPacer(c.m.o.pumpInterval)
	defer pace.stop()
	dirty := false
	events := sub.Events()
	batch := make([]client.SubEvent, 0, subPumpBatch)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				c.mu.Lock()
				t := c.subs[id]
				// A repaired subscription's old handle ends here too: it
				// must not close the table its successor fills.
				if t != nil && c.subHandles[id] == sub && t.snap.Status != SubFailed && t.snap.Status != SubKilled {
					t.snap.Status = SubClosed
					t.note("closed", "the subscription's event stream ended", c.clock.Now())
				}
				c.mu.Unlock()
				c.m.emit(SubscriptionChangedEvent{Conn: c.name})
				return
			}
			var open bool
			batch, open = takeWaiting(append(batch[:0], ev), events, subPumpBatch)
			c.apply(id, sub, batch)
			clear(batch) // let the rows go: the table holds what it keeps
			dirty = true
			if pace.changed() {
				dirty = false
				c.m.emit(SubscriptionChangedEvent{Conn: c.name})
			}
			if open && len(batch) < subPumpBatch {
				linger()
			}
		case <-pace.C():
			pace.fired()
			if dirty {
				dirty = false
				c.m.emit(SubscriptionChangedEvent{Conn: c.name})
			}
		case <-c.ctx.Done():
			return
		}
	}
}

// subPumpBatch bounds how many events subPump applies under one lock.
const subPumpBatch = 512

// apply applies a batch of sub's events to its table; events of a handle
// Repair replaced are ignored.
func (c *Conn) apply(id string, sub *client.Subscription, evs []client.SubEvent) {
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.subs[id]
	if t == nil || c.subHandles[id] != sub {
		return
	}
	for i := range evs {
		c.applyLocked(id, t, &evs[i], now)
	}
}

// applyLocked applies one event to t, and what follows from it on this
// connection (the socket of the ack, a resume's check, an automatic
// verify). Caller holds c.mu.
func (c *Conn) applyLocked(id string, t *liveTable, ev *client.SubEvent, now time.Time) {
	if ev.Kind == client.SubAck && ev.Resumed && ev.PrevNode != "" && c.cl != nil {
		// Before the ack moves LastSeq: the resume started after it.
		t.watchResume(ev.PrevNode, c.cl.URL(), now)
	}
	t.apply(*ev, now)
	if ev.Kind == client.SubAck {
		t.ackConn = ev.ConnID
	}
	if ev.Kind == client.SubAck && ev.Resumed {
		t.verifyDue = true
	}
	// Ready after the final initial batch (an ack says "ready" before its
	// batch of rows arrives), or at the ack without initial data.
	if t.verifyDue && t.snap.Status == SubReady && (ev.Kind == client.SubBatch || t.opts.NoInitialData) {
		t.verifyDue = false
		if t.resume != nil {
			c.wg.Add(1) // safe: this pump's own count keeps the group above zero
			go c.checkResume(id)
		} else if n := c.m.o.autoVerifyRows; n > 0 && len(t.rows) <= n && t.snap.Evicted == 0 {
			c.wg.Add(1) // safe: this pump's own count keeps the group above zero
			go c.autoVerify(id)
		}
	}
}

// autoVerify verifies a subscription that is live again after a resume
// (see WithAutoVerify); the result lands in its Verified and history.
func (c *Conn) autoVerify(id string) {
	defer c.wg.Done()
	if _, err := c.Verify(c.ctx, id, VerifyOptions{}); err != nil && c.ctx.Err() == nil {
		c.mu.Lock()
		if t := c.subs[id]; t != nil {
			t.note("verify", "after the resume: "+errText(err), c.clock.Now())
		}
		c.mu.Unlock()
		c.m.emit(SubscriptionChangedEvent{Conn: c.name})
	}
}
