package session

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// PolicyKind selects when a connection refreshes its token by itself.
type PolicyKind uint8

// Refresh policy kinds.
const (
	// PolicyManual never refreshes by itself.
	PolicyManual PolicyKind = iota
	// PolicyPeriodic refreshes every Every, like the SDK's
	// Timer.periodic(55 min).
	PolicyPeriodic
	// PolicyBeforeExpiry refreshes Lead before the access token's exp, or
	// once Fraction of its lifetime has passed when Lead is 0.
	PolicyBeforeExpiry
)

// MinPeriodic is the shortest periodic refresh interval accepted.
const MinPeriodic = time.Second

// DefaultRefreshPolicy is the policy of a dashboard connection whose
// profile names none: refresh once 80% of the access token's life has
// passed, like the official SDKs' refresh-before-expiry default, so a
// token never dies under a live dashboard.
const DefaultRefreshPolicy = "before 80%"

// RefreshPolicy says when a connection refreshes its token. The zero value
// is Manual. Change it at run time with Conn.SetPolicy.
type RefreshPolicy struct {
	Kind     PolicyKind
	Every    time.Duration // PolicyPeriodic
	Fraction float64       // PolicyBeforeExpiry: share of lifetime, in (0,1)
	Lead     time.Duration // PolicyBeforeExpiry: fixed lead; wins over Fraction
}

// Manual returns the manual-only policy.
func Manual() RefreshPolicy { return RefreshPolicy{} }

// Periodic returns a policy refreshing every d.
func Periodic(d time.Duration) RefreshPolicy { return RefreshPolicy{Kind: PolicyPeriodic, Every: d} }

// BeforeExpiryFraction returns a policy refreshing once fraction (e.g. 0.8)
// of the access token's lifetime has passed.
func BeforeExpiryFraction(fraction float64) RefreshPolicy {
	return RefreshPolicy{Kind: PolicyBeforeExpiry, Fraction: fraction}
}

// BeforeExpiryLead returns a policy refreshing lead before exp.
func BeforeExpiryLead(lead time.Duration) RefreshPolicy {
	return RefreshPolicy{Kind: PolicyBeforeExpiry, Lead: lead}
}

// Validate reports a policy that cannot be scheduled.
func (p RefreshPolicy) Validate() error {
	switch p.Kind {
	case PolicyManual:
		return nil
	case PolicyPeriodic:
		if p.Every < MinPeriodic {
			return fmt.Errorf("periodic refresh interval must be at least %v (each refresh is a login or refresh call), got %v", MinPeriodic, p.Every)
		}
		return nil
	case PolicyBeforeExpiry:
		if p.Lead < 0 {
			return fmt.Errorf("refresh lead time must not be negative, got %v", p.Lead)
		}
		if p.Lead == 0 && (p.Fraction <= 0 || p.Fraction >= 1) {
			return fmt.Errorf("refresh fraction must be between 0 and 1 (e.g. 0.8 or 80%%), got %v", p.Fraction)
		}
		return nil
	}
	return fmt.Errorf("unknown refresh policy kind %d", p.Kind)
}

// String renders the policy in the syntax ParseRefreshPolicy accepts:
// "manual", "every 55m0s", "before 80%", "before 1m0s".
func (p RefreshPolicy) String() string {
	switch p.Kind {
	case PolicyPeriodic:
		return "every " + p.Every.String()
	case PolicyBeforeExpiry:
		if p.Lead > 0 {
			return "before " + p.Lead.String()
		}
		return "before " + strconv.FormatFloat(p.Fraction*100, 'f', -1, 64) + "%"
	}
	return "manual"
}

// ParseRefreshPolicy parses "manual", "every 55m" (or "every:55m"),
// "before 80%" / "before 0.8" (fraction of lifetime) and "before 1m" (lead
// time). It is the one policy grammar: profiles' refresh_policy, flags and
// the dashboard's command palette all use it. "periodic 30s" and
// "before-expiry 1m", the palette's words before it used this grammar, are
// accepted as synonyms of "every" and "before".
func ParseRefreshPolicy(s string) (RefreshPolicy, error) {
	t := strings.TrimSpace(strings.ToLower(s))
	if t == "" || t == "manual" {
		return Manual(), nil
	}
	kind, arg, ok := strings.Cut(strings.Replace(t, ":", " ", 1), " ")
	arg = strings.TrimSpace(arg)
	if !ok || arg == "" {
		return Manual(), fmt.Errorf("refresh policy %q: want manual, \"every 55m\", \"before 80%%\" or \"before 1m\"", s)
	}
	var p RefreshPolicy
	switch kind {
	case "every", "periodic":
		d, err := time.ParseDuration(arg)
		if err != nil {
			return Manual(), fmt.Errorf("refresh policy %q: interval: %v", s, err)
		}
		p = Periodic(d)
	case "before", "before-expiry":
		switch {
		case strings.HasSuffix(arg, "%"):
			f, err := strconv.ParseFloat(strings.TrimSuffix(arg, "%"), 64)
			if err != nil {
				return Manual(), fmt.Errorf("refresh policy %q: percentage: %v", s, err)
			}
			p = BeforeExpiryFraction(f / 100)
		default:
			if f, err := strconv.ParseFloat(arg, 64); err == nil {
				p = BeforeExpiryFraction(f)
				break
			}
			d, err := time.ParseDuration(arg)
			if err != nil {
				return Manual(), fmt.Errorf("refresh policy %q: want a percentage, a fraction or a duration: %v", s, err)
			}
			p = BeforeExpiryLead(d)
		}
	default:
		return Manual(), fmt.Errorf("refresh policy %q: unknown kind %q (want manual, every, before)", s, kind)
	}
	if err := p.Validate(); err != nil {
		return Manual(), fmt.Errorf("refresh policy %q: %w", s, err)
	}
	return p, nil
}

// NextDue returns when the policy wants the next refresh, given the time of
// the last successful refresh (or of the connection's start) and the
// current access token. ok is false for Manual, an invalid policy, or a
// BeforeExpiry policy without a known exp.
func (p RefreshPolicy) NextDue(last time.Time, access TokenState) (due time.Time, ok bool) {
	if p.Validate() != nil {
		return time.Time{}, false
	}
	switch p.Kind {
	case PolicyPeriodic:
		return last.Add(p.Every), true
	case PolicyBeforeExpiry:
		exp := access.Claims.ExpiresAt
		if exp.IsZero() {
			return time.Time{}, false
		}
		if p.Lead > 0 {
			return exp.Add(-p.Lead), true
		}
		l := access.Lifetime()
		if l <= 0 {
			return time.Time{}, false
		}
		return access.Claims.IssuedAt.Add(time.Duration(float64(l) * p.Fraction)), true
	}
	return time.Time{}, false
}

// Trigger says what started a refresh.
type Trigger uint8

// Refresh triggers.
const (
	TriggerManual       Trigger = iota + 1 // the user asked
	TriggerPeriodic                        // PolicyPeriodic fired
	TriggerBeforeExpiry                    // PolicyBeforeExpiry fired
	TriggerReconnect                       // the client re-resolved auth for a reconnect
	TriggerUnauthorized                    // a request got 401 and the client refreshed
	TriggerProvider                        // the client called its auth provider for another reason
	TriggerRetry                           // a retry after a failed refresh
	TriggerSwap                            // the user swapped a token in (Conn.SwapToken)
	TriggerSwapCleared                     // the user ended a token swap (Conn.ClearSwap)
	TriggerAppLogin                        // a watched application logged in (kalamdash proxy)
	TriggerAppRefresh                      // a watched application used its refresh token
	TriggerAppPresented                    // a watched application presented a token not seen before
)

// String returns the trigger's lowercase name.
func (t Trigger) String() string {
	switch t {
	case TriggerManual:
		return "manual"
	case TriggerPeriodic:
		return "periodic"
	case TriggerBeforeExpiry:
		return "before-expiry"
	case TriggerReconnect:
		return "reconnect"
	case TriggerUnauthorized:
		return "401"
	case TriggerProvider:
		return "provider"
	case TriggerRetry:
		return "retry"
	case TriggerSwap:
		return "swap"
	case TriggerSwapCleared:
		return "swap cleared"
	case TriggerAppLogin:
		return "app login"
	case TriggerAppRefresh:
		return "app refresh"
	case TriggerAppPresented:
		return "app presented"
	}
	return "?"
}

// ParseTrigger maps the client's trigger names ("reconnect", "401",
// "unauthorized", "provider", "manual", …) to a Trigger; unknown names map
// to TriggerProvider.
func ParseTrigger(s string) Trigger {
	switch strings.ToLower(s) {
	case "manual":
		return TriggerManual
	case "periodic":
		return TriggerPeriodic
	case "before-expiry", "before_expiry":
		return TriggerBeforeExpiry
	case "reconnect", "connect":
		return TriggerReconnect
	case "401", "unauthorized", "token_expired", "token-expired":
		return TriggerUnauthorized
	case "retry":
		return TriggerRetry
	}
	return TriggerProvider
}

// RefreshMethod says how a refresh obtains new credentials.
type RefreshMethod uint8

// Refresh methods.
const (
	// MethodAuto uses the refresh-token flow when a live refresh token is
	// held, else the auth provider (client.RefreshAuth).
	MethodAuto RefreshMethod = iota
	// MethodRefreshToken always uses POST /v1/api/auth/refresh.
	MethodRefreshToken
	// MethodProvider always asks the auth provider (login again, re-run the
	// token command, re-read the token file).
	MethodProvider
	// MethodClient marks refreshes the client did by itself (reconnect, 401).
	MethodClient
	// MethodSwap marks credentials that came from a token swap instead of
	// the provider (Conn.SwapToken).
	MethodSwap
	// MethodObserved marks a token a watched application presented
	// without the watcher seeing where it came from (kalamdash proxy).
	MethodObserved
)

// String returns the method's name.
func (m RefreshMethod) String() string {
	switch m {
	case MethodRefreshToken:
		return "refresh-token"
	case MethodProvider:
		return "provider"
	case MethodClient:
		return "client"
	case MethodSwap:
		return "swap"
	case MethodObserved:
		return "observed"
	}
	return "auto"
}
