package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// TokenCache is the opt-in on-disk cache of a profile's token pair
// (Profile.CacheToken), so a restart can resume without a password: with
// the cached access token while it lives, else through one refresh with
// the cached refresh token (see Manager.Open). Files are written 0600 in a
// 0700 directory; they hold secrets and nothing else in the session reads
// or prints them.
type TokenCache struct {
	Dir string // usually DefaultTokenCacheDir()
}

// CachedTokens is one cached pair.
type CachedTokens struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	SavedAt      time.Time `json:"saved_at"`
}

// String hides the tokens.
func (c CachedTokens) String() string {
	return fmt.Sprintf("cached tokens (access %s, refresh %s, saved %s)",
		client.Fingerprint(c.AccessToken), client.Fingerprint(c.RefreshToken), c.SavedAt.Format(time.RFC3339))
}

// DefaultTokenCacheDir is $XDG_CACHE_HOME/kalamdash/tokens, or
// ~/.cache/kalamdash/tokens.
func DefaultTokenCacheDir() (string, error) {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "kalamdash", "tokens"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the cache directory: set XDG_CACHE_HOME or HOME (%v)", err)
	}
	return filepath.Join(home, ".cache", "kalamdash", "tokens"), nil
}

var safeName = regexp.MustCompile(`[^A-Za-z0-9._-]`)

func (c TokenCache) path(profile string) (string, error) {
	if profile == "" {
		return "", errors.New("token cache: profile has no name")
	}
	return filepath.Join(c.Dir, safeName.ReplaceAllString(profile, "_")+".json"), nil
}

// Save stores the pair for profile.
func (c TokenCache) Save(profile string, t CachedTokens) error {
	p, err := c.path(profile)
	if err != nil {
		return err
	}
	data, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	return writeFile0600(p, data)
}

// Load returns the cached pair for profile; ok is false when there is none.
// A cache file readable by others is refused (and should be deleted).
func (c TokenCache) Load(profile string) (t CachedTokens, ok bool, err error) {
	p, err := c.path(profile)
	if err != nil {
		return t, false, err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return t, false, nil
	}
	if err != nil {
		return t, false, fmt.Errorf("token cache: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return t, false, fmt.Errorf("token cache %s is readable by others (mode %v): delete it or chmod 600", p, fi.Mode().Perm())
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return t, false, fmt.Errorf("token cache: %w", err)
	}
	if err := json.Unmarshal(data, &t); err != nil {
		return t, false, fmt.Errorf("token cache %s is damaged (%v): delete it", p, err)
	}
	return t, t.AccessToken != "", nil
}

// Delete removes the cached pair for profile (no error if absent).
func (c TokenCache) Delete(profile string) error {
	p, err := c.path(profile)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("token cache: %w", err)
	}
	return nil
}

// resumed is what the token cache gives a profile being opened: the pair
// to connect with (empty: log in as the profile says), the HTTP exchange
// of a refresh made on the way (for the connection's frame log), a notice
// for the user, and why the cache could not be used (to add to a login
// error, so the login form says it too). None of it holds a secret except
// access and refresh.
type resumed struct {
	access, refresh string
	frames          []client.Frame
	notice          *NoticeEvent
	why             string
}

// resumeFromCache decides how the cache's pair for p is used. A live
// access token is used as it is. A dead access token with a live refresh
// token costs one POST /v1/api/auth/refresh (on a client that never opens
// a socket), and the rotated pair is written back to the cache at once:
// the server may have retired the old refresh token. A dead refresh token
// is not tried. When the cache cannot resume, the profile's own login
// follows and the notice says why; entries the server refused, or that
// are past their expiry, are removed so the next start does not try again.
// transport holds the client options the profile's socket would use (TLS,
// clock, reveal), so the refresh goes where the connection will.
func (m *Manager) resumeFromCache(ctx context.Context, p Profile, transport []client.Option) resumed {
	mode := p.Mode()
	if !p.CacheToken || m.o.tokenCache == nil || p.Token != "" || p.Password != "" ||
		(mode != AuthPassword && mode != AuthJWT) {
		return resumed{}
	}
	cache := m.o.tokenCache
	now := m.o.clock.Now()
	t, ok, err := cache.Load(p.Name)
	if err != nil {
		why := "the token cache is unusable: " + err.Error()
		return resumed{why: why, notice: cacheNotice(p.Name, NoticeWarn, now, why, "log in again; "+loginHint(mode))}
	}
	if !ok {
		return resumed{}
	}
	access, refresh := DecodeToken(t.AccessToken), DecodeToken(t.RefreshToken)
	if access.Phase(now) < PhaseDead {
		return resumed{access: t.AccessToken, refresh: t.RefreshToken}
	}
	expired := "the cached access token " + access.Fingerprint + " expired " + stamp(access.Claims.ExpiresAt)
	forget := func(why string) resumed {
		if err := cache.Delete(p.Name); err != nil {
			why += " (" + err.Error() + ")"
		} else {
			why += "; the cache entry was removed"
		}
		return resumed{why: why, notice: cacheNotice(p.Name, NoticeWarn, now, why, loginHint(mode))}
	}
	switch {
	case t.RefreshToken == "":
		return forget(expired + " and there is no cached refresh token")
	case refresh.Phase(now) == PhaseDead:
		return forget(expired + " and so did the cached refresh token " + refresh.Fingerprint + " (" + stamp(refresh.Claims.ExpiresAt) + ")")
	}

	ctx, cancel := context.WithTimeout(ctx, m.o.refreshTimeout)
	defer cancel()
	opts := append([]client.Option{client.WithTapBuffer(64)}, transport...)
	opts = append(opts, client.WithLazyConnect(true)) // last: this client must never dial
	cl, err := client.Connect(ctx, p.URL, opts...)
	var toks *client.Tokens
	if err == nil {
		toks, err = cl.RefreshToken(ctx, t.RefreshToken)
		cl.Close()
	}
	r := resumed{frames: drainFrames(cl)}
	if err != nil {
		why := expired + " and the refresh with the cached refresh token " + refresh.Fingerprint + " failed: " + err.Error()
		var ce *client.Error
		if errors.As(err, &ce) && (ce.Kind == client.KindAuth || ce.Kind == client.KindTokenExpired) {
			// The server refused the token itself: it will not work later.
			f := forget(why)
			f.frames = r.frames
			return f
		}
		r.why = why
		r.notice = cacheNotice(p.Name, NoticeWarn, now, why, "the cache is kept for the next try; "+loginHint(mode))
		return r
	}
	r.access, r.refresh = toks.AccessToken, toks.RefreshToken
	if r.refresh == "" {
		r.refresh = t.RefreshToken // a server that does not rotate keeps the old one valid
	}
	text := expired + "; resumed with the cached refresh token (new access token " + client.Fingerprint(r.access) + ")"
	hint := ""
	if err := cache.Save(p.Name, CachedTokens{AccessToken: r.access, RefreshToken: r.refresh, SavedAt: m.o.clock.Now()}); err != nil {
		text += ", but the new pair could not be cached: " + err.Error()
		hint = "check permissions of the cache directory"
	}
	r.notice = cacheNotice(p.Name, NoticeInfo, now, text, hint)
	return r
}

// drainFrames takes what a closed client tapped (nil for no client).
func drainFrames(cl *client.Client) []client.Frame {
	if cl == nil {
		return nil
	}
	out, _ := takeWaiting(nil, cl.Frames(), math.MaxInt)
	return out
}

func cacheNotice(conn string, level NoticeLevel, now time.Time, text, hint string) *NoticeEvent {
	return &NoticeEvent{Conn: conn, Level: level, Text: text, Hint: hint, Time: now}
}

func loginHint(mode AuthMode) string {
	if mode == AuthJWT {
		return "paste a new token in the login form"
	}
	return "type the password in the login form"
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "at an unknown time"
	}
	return "at " + t.UTC().Format(time.RFC3339)
}
