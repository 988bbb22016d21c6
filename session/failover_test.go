package session

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/kalamtest"
)

// failoverRun is one failover as a user lives it, over a three-node
// kalamtest cluster: a connection opened on the node list order (node ids),
// subscribed to app.messages; one row inserted and shown; node 1 (the one
// the connection is on, and every group's leader) cut off from its peers,
// two rows inserted while it cannot see them, then node 1 stopped; with
// duringFailover, one more row inserted as the connection fails over (it
// reaches the client in the resume or as a change after it, whichever
// comes first: neither is lost or repeated). It waits for the resume's
// check and returns it with the connection and the notices seen.
func failoverRun(t *testing.T, order []int, duringFailover bool, prepare func(*kalamtest.Cluster)) (ResumeCheck, *Conn, *kalamtest.Cluster, *noticeLog) {
	t.Helper()
	const pw = "alice-pw"
	cl := testkit.StartCluster(t, 3, pw, "admin-pw")
	testkit.CreateTables(t, cl.Node(1), "messages")
	if prepare != nil {
		prepare(cl)
	}
	m := NewManager(WithPumpInterval(5*time.Millisecond),
		WithClientOptions(client.WithReconnect(10*time.Millisecond, 50*time.Millisecond, 0)))
	t.Cleanup(func() { _ = m.CloseAll() })
	notices := collectNotices(t, m)

	ctx, cancel := context.WithTimeout(context.Background(), testkit.Deadline)
	defer cancel()
	c, err := m.Open(ctx, Profile{Name: "f", URL: testkit.NodeList(cl, order...), User: "alice", Password: pw})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	id, err := c.Subscribe(ctx, "SELECT * FROM app.messages", SubscribeOptions{})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	sub := func() SubSnapshot { s, _ := c.Subscription(id); return s }
	testkit.Insert(t, cl.Node(1), 1, 2, "before")
	testkit.Poll(t, "the row shown", sub, func(s SubSnapshot) bool { return s.Rows == 1 && s.LastSeq > 0 })

	// Cut off first, so the rows written while node 1 is away are
	// committed before the connection can leave it.
	if err := cl.Partition(1); err != nil {
		t.Fatal(err)
	}
	testkit.Insert(t, cl.Node(2), 2, 4, "while-away")
	if err := cl.StopNode(1); err != nil {
		t.Fatal(err)
	}
	want := 3
	if duringFailover {
		testkit.Insert(t, cl.Node(2), 4, 5, "during-failover")
		want++
	}
	s := testkit.Poll(t, "the resume checked", sub, func(s SubSnapshot) bool {
		return s.Resume != nil && s.Resume.Outcome != ResumeChecking && s.Rows == want
	})
	if got := c.Snapshot().URL; got != cl.Node(order[1]).URL {
		t.Errorf("snapshot URL %s, want the node failed over to, %s", got, cl.Node(order[1]).URL)
	}
	if r := s.Resume; r.From != cl.Node(1).URL || r.To != cl.Node(order[1]).URL {
		t.Errorf("resume from %s to %s, want node 1 to node %d", r.From, r.To, order[1])
	}
	notices.wait(t, "node "+cl.Node(1).Addr()+" down → connected to node "+cl.Node(order[1]).Addr()+" (connection refused)")
	notices.wait(t, id+" "+s.Resume.Summary())
	return *s.Resume, c, cl, notices
}

// A resume moved from the leader to a follower replays the row shown
// before: the follower numbered it above the leader's _seq, when it applied
// it (kalamdb-protocol §9.4; jamals86/KalamDB:
// backend/crates/kalamdb-tables/src/user_tables/user_table_provider.rs
// generate_seq_ids; the client resumes from its last _seq,
// link/link-common/src/connection/shared/reconnect.rs resubscribe_all).
// The check counts it, finds nothing lost, and says so.
func TestFailoverResumeDuplicatesAreCounted(t *testing.T) {
	r, _, _, _ := failoverRun(t, []int{1, 2, 3}, true, nil)
	if r.Outcome != ResumeDuplicated || r.Duplicated != 1 || r.Lost() != 0 {
		t.Errorf("resume %+v: want 1 row delivered again, nothing lost", r)
	}
	if !strings.Contains(r.Summary(), "1 row delivered again, merged by key; no change lost") {
		t.Errorf("summary %q", r.Summary())
	}
}

// A resume onto a node whose clock is an hour behind is read in its lower
// numbers: it skips the two rows written while node 1 was away, and the
// changes after it too (the client drops rows at or below its from,
// link/link-common/src/seq_tracking.rs retain_rows_after). The check finds
// them missing, reloads the subscription and says how many were lost.
func TestFailoverResumeLosingChangesIsResnapshotted(t *testing.T) {
	r, c, _, notices := failoverRun(t, []int{1, 3, 2}, false, func(cl *kalamtest.Cluster) { cl.SetClockSkew(3, -time.Hour) })
	if r.Outcome != ResumeResnapshotted || r.Missing != 2 || r.Lost() != 2 || r.Duplicated != 0 {
		t.Errorf("resume %+v: want 2 changes missing, re-snapshotted", r)
	}
	if n := notices.find("2 changes lost (2 missing, 0 stale, 0 deleted rows still shown)"); n == nil || n.Level != NoticeWarn {
		t.Errorf("lost-changes notice %+v, want a warning with the counts", n)
	}
	s, _ := c.Subscription(c.Snapshot().Subs[0].ID)
	if s.Repairs != 1 || s.Status != SubReady {
		t.Errorf("after the check: %d repairs, status %s; want reloaded and live", s.Repairs, s.Status)
	}
}

// A resume onto a node that numbered the shown row below the from (its
// clock behind) and the rows written since, as their leader, above it
// loads exactly what changed: the check says so.
func TestFailoverResumeExact(t *testing.T) {
	r, _, _, _ := failoverRun(t, []int{1, 2, 3}, true, func(cl *kalamtest.Cluster) { cl.SetClockSkew(2, -time.Hour) })
	if r.Outcome != ResumeExact || r.Duplicated != 0 || r.Lost() != 0 {
		t.Errorf("resume %+v: want exact", r)
	}
}

// noticeLog keeps the manager's notices.
type noticeLog struct {
	mu  sync.Mutex
	all []NoticeEvent
}

func collectNotices(t *testing.T, m *Manager) *noticeLog {
	l := &noticeLog{}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case ev, ok := <-m.Events():
				if !ok {
					return
				}
				if n, ok := ev.(NoticeEvent); ok {
					l.mu.Lock()
					l.all = append(l.all, n)
					l.mu.Unlock()
				}
			case <-stop:
				return
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	return l
}

// find returns the first notice whose text contains sub, or nil.
func (l *noticeLog) find(sub string) *NoticeEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range l.all {
		if strings.Contains(l.all[i].Text, sub) {
			n := l.all[i]
			return &n
		}
	}
	return nil
}

// wait waits for a notice whose text contains sub.
func (l *noticeLog) wait(t *testing.T, sub string) {
	t.Helper()
	testkit.Poll(t, "a notice saying "+sub, func() []string {
		l.mu.Lock()
		defer l.mu.Unlock()
		var texts []string
		for _, n := range l.all {
			texts = append(texts, n.Text)
		}
		return texts
	}, func([]string) bool { return l.find(sub) != nil })
}

// Two failovers in a row: the first one's check finishing after the second
// began records its outcome in the history but leaves the second's
// "checking" shown, even once the second's own reload cleared its watch; the
// second's outcome then shows.
func TestResumeCheckFinishingLateKeepsNewerState(t *testing.T) {
	now := time.Now()
	tb := newLiveTable("s", "SELECT * FROM app.t", 0, now)
	tb.watchResume("http://n1", "http://n2", now)
	first := tb.resume
	tb.watchResume("http://n2", "http://n3", now.Add(time.Second))
	second := tb.resume
	tb.reset(now.Add(2 * time.Second)) // the second check's Repair

	late := first.check
	late.Outcome, late.Finished = ResumeExact, now.Add(3*time.Second)
	tb.resumeChecked(first, late)
	if r := tb.snap.Resume; r == nil || r.Outcome != ResumeChecking || r.To != "http://n3" {
		t.Fatalf("after the first check finished late the resume shows %+v, want the second still checking", r)
	}
	if h := tb.history.snapshot(); len(h) == 0 || h[len(h)-1].Kind != "failover" || h[len(h)-1].Time != late.Finished {
		t.Fatalf("the late check is not in the history: %+v", h)
	}

	done := second.check
	done.Outcome, done.Finished = ResumeResnapshotted, now.Add(4*time.Second)
	tb.resumeChecked(second, done)
	if r := tb.snap.Resume; r == nil || r.Outcome != ResumeResnapshotted || r.To != "http://n3" {
		t.Fatalf("after the second check the resume shows %+v, want its outcome", r)
	}
}
