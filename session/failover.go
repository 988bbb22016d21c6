package session

import (
	"fmt"
	"net/url"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// A subscription resumed on another cluster node is checked, not trusted.
// KalamDB hands no subscription over between nodes: the socket's
// subscriptions die with its node, and the client re-subscribes on the
// next one with from = the last _seq it saw (jamals86/KalamDB:
// link/link-common/src/connection/shared/reconnect.rs resubscribe_all).
// But each node assigns _seq itself when it applies a change
// (kalamdb-protocol §9.4), so that from is read in the new node's
// numbering: the resume may deliver again rows the view already shows,
// or skip changes. The check counts the rows delivered again unchanged
// while the resume loads, then compares the view with the server's rows
// by key (Verify) once it is live; when changes were lost it reloads the
// subscription (Repair). The outcome goes to the subscription's Resume,
// its history and a notice.

// ResumeOutcome says how a resume on another node turned out.
type ResumeOutcome string

// Resume outcomes.
const (
	// ResumeChecking: the resume is loading or being compared.
	ResumeChecking ResumeOutcome = "checking"
	// ResumeExact: nothing delivered twice, nothing lost.
	ResumeExact ResumeOutcome = "exact"
	// ResumeDuplicated: rows already shown were delivered again (merged
	// by key: the view is right); nothing lost.
	ResumeDuplicated ResumeOutcome = "duplicated"
	// ResumeResnapshotted: the subscription was loaded afresh: changes
	// were lost and Repair reloaded it, or it had no _seq to resume from.
	ResumeResnapshotted ResumeOutcome = "re-snapshotted"
	// ResumeLost: changes were lost and could not be reloaded, or the
	// check could not run (Err).
	ResumeLost ResumeOutcome = "lost"
)

// ResumeCheck is the check of one resume on another node.
type ResumeCheck struct {
	From, To string // base URLs of the node left and the node resumed on
	FromSeq  int64  // the _seq the resume started after (0: none, loaded whole)
	Started  time.Time
	Finished time.Time // zero while checking
	Outcome  ResumeOutcome
	// Duplicated counts rows the resume delivered again with the values
	// already shown.
	Duplicated int
	// Lost changes, as the comparison with the server found them: rows
	// the view lacked (Missing), rows shown with old values (Stale), rows
	// shown that the server no longer has (Deleted).
	Missing, Stale, Deleted int
	Err                     string // why the check or the reload failed
}

// Lost counts the changes the resume lost.
func (r ResumeCheck) Lost() int { return r.Missing + r.Stale + r.Deleted }

// Summary is one line about the resume for people.
func (r ResumeCheck) Summary() string {
	where := "resumed on " + nodeHost(r.To) + " after " + nodeHost(r.From) + " went down"
	lost := fmt.Sprintf("%s lost (%d missing, %d stale, %s still shown)", plural(r.Lost(), "change"), r.Missing, r.Stale, plural(r.Deleted, "deleted row"))
	again := ""
	if r.Duplicated > 0 {
		again = ", " + plural(r.Duplicated, "row") + " delivered again"
	}
	switch r.Outcome {
	case ResumeChecking:
		return where + ": checking the rows against the server…"
	case ResumeExact:
		return where + ": exact (no change lost or repeated)"
	case ResumeDuplicated:
		return fmt.Sprintf("%s: %s delivered again, merged by key; no change lost", where, plural(r.Duplicated, "row"))
	case ResumeResnapshotted:
		if r.Lost() == 0 {
			return where + ": re-snapshotted (no _seq to resume from; every row loaded again)"
		}
		return fmt.Sprintf("%s: %s%s; re-snapshotted from %s", where, lost, again, nodeHost(r.To))
	}
	s := where + ": "
	if r.Lost() > 0 {
		s += lost + again
	} else {
		s += "not checked"
	}
	if r.Err != "" {
		s += " (" + r.Err + ")"
	}
	return s
}

// plural is "1 thing" or "n things".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// nodeHost is a node's host:port, the part of its URL people tell nodes by.
func nodeHost(base string) string {
	if u, err := url.Parse(base); err == nil && u.Host != "" {
		return u.Host
	}
	return base
}

// resumeWatch follows a resume on another node while it loads: what the
// view showed when it resumed, and the rows delivered again unchanged.
type resumeWatch struct {
	check ResumeCheck
	shown map[string]Row  // key → values shown when the resume was acknowledged
	again map[string]bool // keys delivered again with the values shown
}

// watchResume starts checking a resume on another node; the table's rows
// are what it showed. Caller holds the Conn's mutex.
func (t *liveTable) watchResume(from, to string, now time.Time) {
	w := &resumeWatch{check: ResumeCheck{From: from, To: to, FromSeq: t.snap.LastSeq, Started: now, Outcome: ResumeChecking},
		shown: make(map[string]Row, len(t.rows)), again: map[string]bool{}}
	for _, r := range t.rows {
		if r.Change != ChangeDelete {
			w.shown[r.Key] = r.Values
		}
	}
	t.resume = w
	rc := w.check
	t.snap.Resume = &rc
	t.note("failover", fmt.Sprintf("resumed on %s after %s went down, from _seq %d: checking", nodeHost(to), nodeHost(from), w.check.FromSeq), now)
}

// resumeChecked records the outcome rc of w's check in the history, and
// as the subscription's resume state unless a newer failover's is shown: an
// older check finishing late must not overwrite it. w's own Repair may have
// cleared the watch, so the check shown tells whose state it is. Caller
// holds the Conn's mutex.
func (t *liveTable) resumeChecked(w *resumeWatch, rc ResumeCheck) {
	if t.resume == w {
		t.resume = nil
	}
	if shown := t.snap.Resume; t.resume == nil && shown != nil && shown.Started.Equal(w.check.Started) && shown.To == w.check.To {
		t.snap.Resume = &rc
	}
	t.note("failover", rc.Summary(), rc.Finished)
}

// sawAgain notes, while a resume on another node is checked, the rows of
// rows that the view showed with the same values when the resume began:
// delivered again. The values are compared as Verify compares them.
// Caller holds the Conn's mutex.
func (t *liveTable) sawAgain(rows []Row) {
	w := t.resume
	if w == nil {
		return
	}
	for _, r := range rows {
		k := t.key(r)
		if old, ok := w.shown[k]; ok && len(differentColumns(r, old)) == 0 {
			w.again[k] = true
		}
	}
}

// checkResume compares a subscription resumed on another node with the
// server once it is live, reloads it when changes were lost, and reports
// the outcome (see ResumeCheck).
func (c *Conn) checkResume(id string) {
	defer c.wg.Done()
	c.mu.Lock()
	t := c.subs[id]
	var w *resumeWatch
	if t != nil {
		w = t.resume
	}
	c.mu.Unlock()
	if w == nil {
		return
	}
	v, err := c.Verify(c.ctx, id, VerifyOptions{})
	c.mu.Lock() // the pump counts rows delivered again until now
	rc := w.check
	rc.Duplicated = len(w.again)
	c.mu.Unlock()
	if rc.FromSeq == 0 {
		rc.Duplicated = 0 // a whole reload delivers every row again by design
	}
	switch {
	case err != nil:
		rc.Outcome, rc.Err = ResumeLost, "could not compare with the server: "+errText(err)
	default:
		rc.Missing, rc.Stale, rc.Deleted = v.Missing.Count, v.Values.Count, v.Extra.Count
		switch {
		case rc.Lost() > 0:
			rc.Outcome = ResumeResnapshotted
			if err := c.Repair(c.ctx, id); err != nil {
				rc.Outcome, rc.Err = ResumeLost, "reload failed: "+errText(err)
			}
		case rc.FromSeq == 0:
			rc.Outcome = ResumeResnapshotted
		case rc.Duplicated > 0:
			rc.Outcome = ResumeDuplicated
		default:
			rc.Outcome = ResumeExact
		}
	}
	if c.ctx.Err() != nil {
		return
	}
	rc.Finished = c.clock.Now()
	c.mu.Lock()
	if t := c.subs[id]; t != nil {
		t.resumeChecked(w, rc)
	}
	c.mu.Unlock()
	level, hint := NoticeInfo, ""
	switch {
	case rc.Outcome == ResumeLost:
		level, hint = NoticeWarn, "press v to compare again and R to reload the subscription"
	case rc.Lost() > 0:
		level, hint = NoticeWarn, "a resume on another node can skip changes (each node numbers _seq itself) and never replays a deletion; the rows now shown are the server's"
	}
	c.notice(level, id+" "+rc.Summary(), hint)
	c.m.emit(SubscriptionChangedEvent{Conn: c.name})
}

// failedOver reports a socket that came up on another node than the last.
func (c *Conn) failedOver(e client.FailoverEvent) {
	text := fmt.Sprintf("node %s down → connected to node %s", nodeHost(e.From), nodeHost(e.To))
	if e.Reason != "" {
		text += " (" + e.Reason + ")"
	}
	c.notice(NoticeWarn, text, "subscriptions resume there; each resume is checked against the server's rows")
}
