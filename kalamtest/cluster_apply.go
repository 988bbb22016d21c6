package kalamtest

import (
	"time"

	"github.com/kalamdash/kalamdash/kalamtest/internal/sqlengine"
)

// applyItem is a committed change waiting for a node to apply it.
type applyItem struct {
	ch        sqlengine.Change
	committed time.Time
}

// enqueueApply hands committed changes to this node's applier. A peer
// joined with everything committed up to joinedSeq applied, so the
// dispatcher's changes from before it joined are not applied twice (which
// put its applied index ahead of the log's).
func (s *Server) enqueueApply(batch []sqlengine.Change, at time.Time) {
	s.applyMu.Lock()
	for _, ch := range batch {
		if ch.Seq <= s.joinedSeq {
			continue
		}
		s.applyQ = append(s.applyQ, applyItem{ch: ch, committed: at})
	}
	s.applyMu.Unlock()
	s.wakeApply()
}

func (s *Server) wakeApply() {
	select {
	case s.applyWake <- struct{}{}:
	default:
	}
}

// appliedSignal returns a channel closed at the node's next apply.
func (s *Server) appliedSignal() <-chan struct{} {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	return s.appliedSig
}

// lagFor is how long after its commit this node applies a change: at once
// on the leader of the change's group, after the replication lag on a
// follower.
func (s *Server) lagFor(ch sqlengine.Change) time.Duration {
	if s.cl.leaderOf(s.cl.changeGroup(ch)) == s.nodeID {
		return 0
	}
	return time.Duration(s.cl.lag.Load())
}

// applier applies committed changes in commit order: each is sent to this
// node's subscribers when the node applies it, as each upstream node
// notifies its own subscribers from its applier. A stopped or partitioned
// node applies nothing until it is back.
func (s *Server) applier() {
	var timer *time.Timer
	for {
		var due <-chan time.Time
		if timer != nil {
			due = timer.C
		}
		select {
		case <-s.ctx.Done():
			return
		case <-s.applyWake:
		case <-due:
		}
		timer = nil
		for s.reachable() {
			s.applyMu.Lock()
			if len(s.applyQ) == 0 {
				s.applyMu.Unlock()
				break
			}
			head := s.applyQ[0]
			s.applyMu.Unlock()
			if wait := time.Until(head.committed.Add(s.lagFor(head.ch))); wait > 0 {
				timer = time.NewTimer(wait)
				break
			}
			sq := s.seqs.Load()
			if sq != nil {
				sq.assign(head.ch.Seq, s.cl.leaderOf(s.cl.changeGroup(head.ch)) == s.nodeID, s.now())
			}
			f := &fanout{ch: head.ch, encodes: &s.encodes, seqs: sq}
			for _, c := range s.connList() {
				c.deliver(f)
			}
			s.applyMu.Lock()
			s.applyQ = s.applyQ[1:]
			s.applied.Store(head.ch.Seq)
			s.appliedIndex.Add(1)
			close(s.appliedSig)
			s.appliedSig = make(chan struct{})
			s.applyMu.Unlock()
		}
	}
}
