package session

import (
	"context"
	"testing"
	"time"
)

func triggers(h []Rotation) []string {
	out := make([]string, len(h))
	for i, r := range h {
		out[i] = r.Trigger.String()
		if !r.OK() {
			out[i] += "!"
		}
	}
	return out
}

func TestPeriodicPolicyFiresOnSchedule(t *testing.T) {
	e := newEnv(t)
	c := e.open("alice", "alice", "alice-pw")
	t0 := e.clock.Now()
	if err := c.SetPolicy(Periodic(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if s := c.Snapshot(); !s.NextRefresh.Equal(t0.Add(10*time.Second)) || s.NextTrigger != TriggerPeriodic {
		t.Fatalf("next %v (%v)", s.NextRefresh.Sub(t0), s.NextTrigger)
	}
	e.clock.Advance(35 * time.Second)
	s := c.Snapshot()
	if len(s.History) != 3 {
		t.Fatalf("history %v", triggers(s.History))
	}
	seen := map[string]bool{}
	for i, r := range s.History {
		if !r.OK() || r.Trigger != TriggerPeriodic || r.Method != MethodRefreshToken {
			t.Errorf("entry %d: %+v", i, r)
		}
		if want := t0.Add(time.Duration(i+1) * 10 * time.Second); !r.Time.Equal(want) {
			t.Errorf("entry %d at %v, want %v", i, r.Time.Sub(t0), want.Sub(t0))
		}
		if !r.NewExpiry.Equal(r.Time.Add(testAccessTTL)) || r.NewFingerprint == r.OldFingerprint || seen[r.NewFingerprint] {
			t.Errorf("entry %d: new exp %v, fingerprints %s→%s", i, r.NewExpiry.Sub(t0), r.OldFingerprint, r.NewFingerprint)
		}
		seen[r.NewFingerprint] = true
	}
	if !s.NextRefresh.Equal(t0.Add(40 * time.Second)) {
		t.Errorf("next %v", s.NextRefresh.Sub(t0))
	}
	// Switching to manual at run time stops the schedule.
	if err := c.SetPolicy(Manual()); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	if s := c.Snapshot(); len(s.History) != 3 || !s.NextRefresh.IsZero() {
		t.Errorf("manual: %v, next %v", triggers(s.History), s.NextRefresh)
	}
}

func TestBeforeExpiryPolicyFiresOnSchedule(t *testing.T) {
	e := newEnv(t)
	c := e.open("alice", "alice", "alice-pw")
	t0 := e.clock.Now()
	// At half the 100 s lifetime: t0+50, +100, +150.
	if err := c.SetPolicy(BeforeExpiryFraction(0.5)); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(160 * time.Second)
	s := c.Snapshot()
	if len(s.History) != 3 {
		t.Fatalf("fraction: history %v", triggers(s.History))
	}
	for i, r := range s.History {
		if want := t0.Add(time.Duration(i+1) * 50 * time.Second); !r.OK() || r.Trigger != TriggerBeforeExpiry || !r.Time.Equal(want) {
			t.Errorf("fraction entry %d: %+v", i, r)
		}
	}
	if s.Phase() != PhaseFresh {
		t.Errorf("phase %v", s.Phase())
	}
	// 30 s before exp: the current token (issued t0+150) → t0+220, t0+290.
	if err := c.SetPolicy(BeforeExpiryLead(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if s := c.Snapshot(); !s.NextRefresh.Equal(t0.Add(220 * time.Second)) {
		t.Fatalf("lead: next %v", s.NextRefresh.Sub(t0))
	}
	e.clock.Advance(140 * time.Second) // to t0+300
	s = c.Snapshot()
	if len(s.History) != 5 || !s.History[3].Time.Equal(t0.Add(220*time.Second)) || !s.History[4].Time.Equal(t0.Add(290*time.Second)) {
		t.Errorf("lead: history %v", triggers(s.History))
	}
}

func TestFailedRefreshIsRecordedAndRetried(t *testing.T) {
	e := newEnv(t)
	c := e.open("alice", "alice", "alice-pw")
	t0 := e.clock.Now()
	if err := c.SetPolicy(Periodic(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	// Every token issued so far stops validating: the refresh token flow is refused.
	if n := e.srv.RevokeTokens(); n == 0 {
		t.Fatal("no tokens revoked")
	}
	e.clock.Advance(10 * time.Second)
	s := c.Snapshot()
	if len(s.History) != 1 || s.History[0].OK() || s.History[0].Method != MethodRefreshToken {
		t.Fatalf("history %+v", s.History)
	}
	if s.Failures != 1 || s.NextTrigger != TriggerRetry || !s.NextRefresh.Equal(t0.Add(11*time.Second)) {
		t.Fatalf("failures %d, next %v at %v", s.Failures, s.NextTrigger, s.NextRefresh.Sub(t0))
	}
	// The retry falls back to the provider (password login) and succeeds.
	e.clock.Advance(time.Second)
	s = c.Snapshot()
	if len(s.History) != 2 {
		t.Fatalf("history %v", triggers(s.History))
	}
	r := s.History[1]
	if !r.OK() || r.Trigger != TriggerRetry || r.Attempt != 2 || r.Method != MethodProvider {
		t.Fatalf("retry %+v", r)
	}
	if s.Failures != 0 || s.NextTrigger != TriggerPeriodic || !s.NextRefresh.Equal(t0.Add(21*time.Second)) {
		t.Errorf("after retry: failures %d, next %v at %v", s.Failures, s.NextTrigger, s.NextRefresh.Sub(t0))
	}
}

func TestFailedRefreshBacksOff(t *testing.T) {
	e := newEnv(t, WithRetryBackoff(time.Second, 4*time.Second))
	c := e.open("alice", "alice", "alice-pw")
	if err := c.SetPolicy(Periodic(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	// The user disappears: refresh and login both fail from now on.
	if err := e.srv.RemoveUser("alice"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(10 * time.Second)
	var gaps []time.Duration
	for i := 0; i < 5; i++ {
		s := c.Snapshot()
		gaps = append(gaps, s.NextRefresh.Sub(s.History[len(s.History)-1].Time))
		e.clock.Advance(s.NextRefresh.Sub(s.Now))
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second, 4 * time.Second}
	for i := range want {
		if gaps[i] != want[i] {
			t.Fatalf("backoff %v, want %v", gaps, want)
		}
	}
	s := c.Snapshot()
	if len(s.History) != 6 || s.Failures != 6 {
		t.Fatalf("history %v, failures %d", triggers(s.History), s.Failures)
	}
	for _, r := range s.History {
		if r.OK() || r.Err == "" {
			t.Errorf("entry %+v", r)
		}
	}
}

func TestManualPolicyRecordsFailureWithoutRetry(t *testing.T) {
	e := newEnv(t)
	c := e.open("alice", "alice", "alice-pw")
	e.srv.RevokeTokens()
	r, err := c.Refresh(context.Background())
	if err == nil || r.OK() || r.Err == "" || r.Trigger != TriggerManual {
		t.Fatalf("refresh %+v, %v", r, err)
	}
	e.clock.Advance(10 * time.Minute)
	s := c.Snapshot()
	if len(s.History) != 1 || !s.NextRefresh.IsZero() || s.Failures != 1 {
		t.Errorf("history %v, next %v, failures %d", triggers(s.History), s.NextRefresh, s.Failures)
	}
}

// TestBeforeExpiryWithUnchangedTokenBacksOff: a pasted JWT cannot be
// renewed, so each before-expiry refresh returns the same token. The
// schedule must back off rather than loop on a deadline in the past.
func TestBeforeExpiryWithUnchangedTokenBacksOff(t *testing.T) {
	e := newEnv(t, WithRetryBackoff(time.Second, 8*time.Second))
	pw := e.open("alice-pw", "alice", "alice-pw")
	tok, _ := pw.Client().Credentials()
	c, err := e.m.Open(context.Background(), Profile{Name: "pasted", URL: e.srv.URL, Auth: AuthJWT, Token: tok,
		RefreshPolicy: "before 90s"}) // due 10 s after iat
	if err != nil {
		t.Fatal(err)
	}
	t0 := e.clock.Now()
	e.clock.Advance(30 * time.Second) // would hang here if the schedule looped
	s := c.Snapshot()
	// Attempts at +10, then backing off 1, 2, 4, 8 s: +11, +13, +17, +25.
	if len(s.History) != 5 {
		t.Fatalf("history %v", triggers(s.History))
	}
	for i, want := range []time.Duration{10, 11, 13, 17, 25} {
		r := s.History[i]
		if !r.Time.Equal(t0.Add(want*time.Second)) || !r.OK() || !r.Unchanged {
			t.Errorf("entry %d at +%v: %+v", i, r.Time.Sub(t0), r)
		}
	}
	if !s.NextRefresh.Equal(t0.Add(33 * time.Second)) {
		t.Errorf("next at +%v", s.NextRefresh.Sub(t0))
	}
}

// TestBeforeExpiryLeadLongerThanLifetime: "before 5m" on 100 s tokens
// would always be overdue; it refreshes every tenth of the lifetime.
func TestBeforeExpiryLeadLongerThanLifetime(t *testing.T) {
	e := newEnv(t)
	c := e.open("alice", "alice", "alice-pw")
	t0 := e.clock.Now()
	if err := c.SetPolicy(BeforeExpiryLead(5 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(35 * time.Second)
	s := c.Snapshot()
	if len(s.History) != 3 {
		t.Fatalf("history %v", triggers(s.History))
	}
	for i, r := range s.History {
		if want := t0.Add(time.Duration(i+1) * 10 * time.Second); !r.Time.Equal(want) || !r.OK() || r.Unchanged {
			t.Errorf("entry %d at +%v: %+v", i, r.Time.Sub(t0), r)
		}
	}
}
