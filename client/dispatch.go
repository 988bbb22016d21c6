package client

// This file routes server messages to subscriptions: acks, batches (with
// automatic next_batch), changes and errors, tracking _seq for resume.

import (
	"fmt"
)

// sub returns the live subscription with id, or nil.
func (c *Client) sub(id string) *Subscription {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.subs[id]
}

// failPending fails every Subscribe still waiting for its first ack.
func (c *Client) failPending(err error) {
	c.mu.Lock()
	subs := make([]*Subscription, 0, len(c.subs))
	for _, s := range c.subs {
		subs = append(subs, s)
	}
	c.mu.Unlock()
	for _, s := range subs {
		s.mu.Lock()
		pending := !s.acked
		s.mu.Unlock()
		if pending {
			select {
			case s.ackCh <- err:
			default:
			}
		}
	}
}

// dispatch routes one server message; it runs on the socket's read loop.
func (c *Client) dispatch(wc *wsConn, m *ServerMessage) {
	switch m.Type {
	case TypeSubscriptionAck, TypeInitialDataBatch, TypeChange:
		if s := c.sub(m.SubscriptionID); s != nil {
			s.handle(wc, m)
		}
	case TypeError:
		if s := c.sub(m.SubscriptionID); s != nil {
			s.handleError(wc, subscriptionError(m))
			return
		}
		c.emit(ErrorEvent{Time: c.now(), Recoverable: true, Err: unroutedError(m)})
	case TypeAuthError:
		c.setLastErr(&Error{Kind: KindAuth, Op: "connect", Code: TypeAuthError, Message: "server refused the token: " + m.Message})
	}
}

// unroutedError describes a server error frame that matches no
// subscription of this client. KalamDB uses fixed ids for errors that are
// about no subscription (protocol, rate_limit, subscribe,
// invalid_subscription); any other id is one this client does not have
// (already unsubscribed, or from another client).
func unroutedError(m *ServerMessage) *Error {
	e := &Error{Kind: KindProtocol, Op: "server", Code: m.Code}
	switch m.SubscriptionID {
	case "protocol":
		e.Message = "refused a message from this client: " + m.Message
	case "rate_limit":
		e.Kind, e.Message = KindRateLimited, "dropped a message from this client: "+m.Message
	case "subscribe", "invalid_subscription":
		e.Message = "refused a subscribe: " + m.Message
	case "":
		e.Message = "error: " + m.Message
	default:
		e.Message = fmt.Sprintf("error for subscription %q, which this client does not have: %s", m.SubscriptionID, m.Message)
	}
	return e
}

func (s *Subscription) handleError(wc *wsConn, err *Error) {
	s.mu.Lock()
	pending := !s.acked
	s.mu.Unlock()
	if pending {
		// Refused: the server registered nothing, so forget the
		// subscription here, and Subscribe's clean-up sends no unsubscribe
		// (KalamDB lowers the user's subscription count on every
		// unsubscribe, known id or not; the official client sends none).
		s.c.forget(s)
		s.finish(err)
		return
	}
	s.push(SubEvent{Kind: SubError, ConnID: wc.id, Err: err, Code: err.Code})
}

// SubEventOf is the subscription event a server message carries, as a
// subscription delivers it before its own resume filtering: an ack (with
// its schema and batch control), an initial batch, an insert, update or
// delete, or an error naming a subscription. ok is false for messages
// about no subscription; err says what is wrong with one that names a
// subscription but cannot be applied (an unknown change_type). The client
// routes its own subscriptions' messages through it, and kalamdash proxy
// materialises the subscriptions it only observes with it.
func SubEventOf(m *ServerMessage) (ev SubEvent, ok bool, err error) {
	ev = SubEvent{SubscriptionID: m.SubscriptionID}
	if m.BatchControl != nil {
		ev.Batch = *m.BatchControl
	}
	switch m.Type {
	case TypeSubscriptionAck:
		ev.Kind, ev.Schema = SubAck, m.Schema
	case TypeInitialDataBatch:
		ev.Kind, ev.Rows = SubBatch, m.Rows
	case TypeChange:
		ev.Rows, ev.OldValues = m.Rows, m.OldValues
		switch m.ChangeType {
		case ChangeInsert:
			ev.Kind = SubInsert
		case ChangeUpdate:
			ev.Kind = SubUpdate
		case ChangeDelete:
			ev.Kind = SubDelete
		default:
			return ev, false, &Error{Kind: KindProtocol, Op: "read",
				Message: fmt.Sprintf("change with unknown change_type %q for %s", m.ChangeType, m.SubscriptionID)}
		}
	case TypeError:
		if m.SubscriptionID == "" {
			return ev, false, nil
		}
		ev.Kind, ev.Code = SubError, m.Code
		ev.Err = subscriptionError(m)
	default:
		return ev, false, nil
	}
	return ev, true, nil
}

// subscriptionError is the error a server error frame m reports about one
// subscription.
func subscriptionError(m *ServerMessage) *Error {
	return &Error{Kind: KindSubscription, Op: "subscribe", Code: m.Code, Message: m.Message}
}

// handle processes an ack, batch or change for s, tracking the highest
// _seq and dropping replays after a resume.
func (s *Subscription) handle(wc *wsConn, m *ServerMessage) {
	ev, _, err := SubEventOf(m)
	if err != nil {
		wc.c.emit(ErrorEvent{Time: wc.c.now(), Recoverable: true, Err: err})
		return
	}
	ev.ConnID = wc.id
	var next *NextBatchMessage
	s.mu.Lock()
	switch ev.Kind {
	case SubAck:
		ev.Resumed = s.resumeAck
		if s.resumeAck && s.ackNode != nil && s.ackNode != wc.node {
			ev.PrevNode = s.ackNode.String()
		}
		s.acked, s.resumeAck, s.ackNode = true, false, wc.node
		select {
		case s.ackCh <- nil:
		default:
		}
	case SubBatch:
		ev.Rows, ev.Dropped = s.keepNew(m.Rows)
		s.track(m.Rows)
		if ev.Batch.LastSeqID != nil {
			s.see(*ev.Batch.LastSeqID)
		}
		if ev.Batch.HasMore {
			next = &NextBatchMessage{Type: TypeNextBatch, SubscriptionID: s.id, LastSeqID: ev.Batch.LastSeqID}
		}
	case SubInsert, SubUpdate, SubDelete:
		switch ev.Kind {
		case SubInsert:
			ev.Rows, ev.Dropped = s.keepNew(m.Rows)
		case SubUpdate:
			if kept, _ := s.keepNew(m.Rows); len(m.Rows) > 0 && len(kept) == 0 {
				ev.Dropped = len(m.Rows)
			}
		}
		s.track(m.Rows)
		s.track(m.OldValues)
	}
	s.mu.Unlock()
	// A fully replayed insert or update is dropped, not delivered empty.
	skip := ev.Dropped > 0 && (ev.Kind == SubUpdate || ev.Kind == SubInsert && len(ev.Rows) == 0)
	if !skip {
		s.push(ev)
	}
	if next != nil {
		// Off the read loop: a peer slow to take our write must not stop
		// us reading. (The read loop is counted in c.wg, so Add is safe.)
		c := wc.c
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			_ = wc.send(wc.ctx, *next)
		}()
	}
}

// keepNew drops rows with _seq <= resumeFrom after a resume. Caller holds s.mu.
func (s *Subscription) keepNew(rows []Row) ([]Row, int) {
	if !s.filter || len(rows) == 0 {
		return rows, 0
	}
	kept := rows[:0:0]
	for _, r := range rows {
		if seq, ok := r.Seq(); ok && seq <= s.resumeFrom {
			continue
		}
		kept = append(kept, r)
	}
	return kept, len(rows) - len(kept)
}

// track raises lastSeq to the highest _seq in rows. Caller holds s.mu.
func (s *Subscription) track(rows []Row) {
	for _, r := range rows {
		if seq, ok := r.Seq(); ok {
			s.see(seq)
		}
	}
}

func (s *Subscription) see(seq int64) {
	if !s.hasSeq || seq > s.lastSeq {
		s.lastSeq, s.hasSeq = seq, true
	}
}
