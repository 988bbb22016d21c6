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

// openWithPolicy opens alice's connection and sets refresh policy p; it
// returns the connection and the fake time the policy was set at.
func openWithPolicy(t *testing.T, e *env, p RefreshPolicy) (*Conn, time.Time) {
	t.Helper()
	c := e.open("alice", "alice", "alice-pw")
	if err := c.SetPolicy(p); err != nil {
		t.Fatalf("SetPolicy(%v): %v", p, err)
	}
	return c, e.clock.Now()
}

// historyAfter moves the fake clock on by d and requires the connection's
// refresh history to hold n entries by then.
func historyAfter(t *testing.T, e *env, c *Conn, d time.Duration, n int) ConnSnapshot {
	t.Helper()
	e.clock.Advance(d)
	s := c.Snapshot()
	if len(s.History) != n {
		t.Fatalf("after %v: history %v, want %d entries", d, triggers(s.History), n)
	}
	return s
}

// wantEvery requires each entry of h to be a successful refresh by trigger
// that renewed the token, the i-th at t0 + (i+1)·step.
func wantEvery(t *testing.T, h []Rotation, t0 time.Time, step time.Duration, trigger Trigger) {
	t.Helper()
	for i, r := range h {
		if want := t0.Add(time.Duration(i+1) * step); !r.OK() || r.Unchanged || r.Trigger != trigger || !r.Time.Equal(want) {
			t.Errorf("entry %d at +%v, want +%v: %+v", i, r.Time.Sub(t0), want.Sub(t0), r)
		}
	}
}

func TestPeriodicPolicyFiresOnSchedule(t *testing.T) {
	e := newEnv(t)
	c, t0 := openWithPolicy(t, e, Periodic(10*time.Second))
	if s := c.Snapshot(); !s.NextRefresh.Equal(t0.Add(10*time.Second)) || s.NextTrigger != TriggerPeriodic {
		t.Fatalf("next %v (%v)", s.NextRefresh.Sub(t0), s.NextTrigger)
	}
	s := historyAfter(t, e, c, 35*time.Second, 3)
	wantEvery(t, s.History, t0, 10*time.Second, TriggerPeriodic)
	seen := map[string]bool{}
	for i, r := range s.History {
		if r.Method != MethodRefreshToken {
			t.Errorf("entry %d: method %v, want the refresh token", i, r.Method)
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
	// At half the 100 s lifetime: t0+50, +100, +150.
	c, t0 := openWithPolicy(t, e, BeforeExpiryFraction(0.5))
	s := historyAfter(t, e, c, 160*time.Second, 3)
	wantEvery(t, s.History, t0, 50*time.Second, TriggerBeforeExpiry)
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
	c, t0 := openWithPolicy(t, e, Periodic(10*time.Second))
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
	c, _ := openWithPolicy(t, e, Periodic(10*time.Second))
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
	c, t0 := openWithPolicy(t, e, BeforeExpiryLead(5*time.Minute))
	s := historyAfter(t, e, c, 35*time.Second, 3)
	wantEvery(t, s.History, t0, 10*time.Second, TriggerBeforeExpiry)
}
