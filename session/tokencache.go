package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// TokenCache is the opt-in on-disk cache of a profile's token pair
// (Profile.CacheToken), so a restart can resume without a password. Files
// are written 0600 in a 0700 directory; they hold secrets and nothing else
// in the session reads or prints them.
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
		Fingerprint(c.AccessToken), Fingerprint(c.RefreshToken), c.SavedAt.Format(time.RFC3339))
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
