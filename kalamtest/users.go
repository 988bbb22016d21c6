package kalamtest

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Roles, lowercase as on the wire.
const (
	RoleUser    = "user"
	RoleService = "service"
	RoleDBA     = "dba"
	RoleSystem  = "system"
)

// ValidRole reports whether r is a role a user may hold.
func ValidRole(r string) bool {
	switch r {
	case RoleUser, RoleService, RoleDBA, RoleSystem:
		return true
	}
	return false
}

type user struct {
	id        string
	role      string
	email     *string
	hash      []byte // nil: no password (root before setup)
	createdAt time.Time
	updatedAt time.Time
	deleted   bool
}

// lockout tracks consecutive login failures per user
// (kalamdb-auth login_tracker.rs: 5 failures lock for 15 minutes).
type lockout struct {
	failures    int
	lockedUntil time.Time
}

type userStore struct {
	mu    sync.Mutex
	users map[string]*user
	locks map[string]*lockout
	now   func() time.Time
}

func newUserStore(now func() time.Time) *userStore {
	return &userStore{users: map[string]*user{}, locks: map[string]*lockout{}, now: now}
}

// add creates or replaces a user. An empty password leaves it without one.
func (s *userStore) add(name, password, role, email string) error {
	if name == "" {
		return fmt.Errorf("kalamtest: user name is empty")
	}
	if role == "" {
		role = RoleUser
	}
	role = strings.ToLower(role)
	if !ValidRole(role) {
		return fmt.Errorf("kalamtest: user %q: unknown role %q (use user, service, dba or system)", name, role)
	}
	var hash []byte
	if password != "" {
		h, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCostForTests)
		if err != nil {
			return fmt.Errorf("kalamtest: hash password of %q: %w", name, err)
		}
		hash = h
	}
	// Millisecond precision, as upstream stores created_at/updated_at.
	now := s.now().UTC().Truncate(time.Millisecond)
	u := &user{id: name, role: role, hash: hash, createdAt: now, updatedAt: now}
	if email != "" {
		e := email
		u.email = &e
	}
	s.mu.Lock()
	s.users[name] = u
	s.mu.Unlock()
	return nil
}

// get returns a copy of a live (non-deleted) user.
func (s *userStore) get(name string) (user, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[name]
	if !ok || u.deleted {
		return user{}, false
	}
	return *u, true
}

func (s *userStore) setRole(name, role string) error {
	role = strings.ToLower(role)
	if !ValidRole(role) {
		return fmt.Errorf("kalamtest: unknown role %q (use user, service, dba or system)", role)
	}
	return s.edit(name, true, func(u *user) { u.role = role })
}

func (s *userStore) remove(name string) error {
	return s.edit(name, false, func(u *user) { u.deleted = true })
}

func (s *userStore) setPassword(name, password string) error {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCostForTests)
	if err != nil {
		return err
	}
	return s.edit(name, true, func(u *user) { u.hash = h })
}

// edit applies change to user name under the store's lock; touch also
// records the change's time as the user's updated_at.
func (s *userStore) edit(name string, touch bool, change func(*user)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[name]
	if !ok {
		return fmt.Errorf("kalamtest: no user %q", name)
	}
	change(u)
	if touch {
		u.updatedAt = s.now().UTC().Truncate(time.Millisecond)
	}
	return nil
}

func (s *userStore) names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.users))
	for n, u := range s.users {
		if !u.deleted {
			out = append(out, n)
		}
	}
	return out
}

// loginResult says why a login failed, in the terms of section 1.2.
type loginResult int

const (
	loginOK loginResult = iota
	loginInvalid
	loginLocked
	loginSetupRequired
)

// checkLogin verifies a password, applying the lockout rules. It returns
// the user on success and the remaining lock time when locked.
func (s *userStore) checkLogin(name, password string) (user, loginResult, time.Duration) {
	now := s.now()
	s.mu.Lock()
	u, ok := s.users[name]
	if ok && !u.deleted && u.hash == nil && name == "root" && password == "" {
		s.mu.Unlock()
		return user{}, loginSetupRequired, 0
	}
	if l := s.locks[name]; l != nil && now.Before(l.lockedUntil) {
		s.mu.Unlock()
		return user{}, loginLocked, l.lockedUntil.Sub(now)
	}
	var hash []byte
	if ok && !u.deleted {
		hash = u.hash
	}
	s.mu.Unlock()

	// Compare outside the lock: bcrypt is the slow part.
	good := hash != nil && name != "" && bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil

	s.mu.Lock()
	defer s.mu.Unlock()
	if !good {
		if ok && !u.deleted {
			l := s.locks[name]
			if l == nil {
				l = &lockout{}
				s.locks[name] = l
			}
			l.failures++
			if l.failures >= DefaultLockoutFailures {
				l.failures = 0
				l.lockedUntil = now.Add(DefaultLockoutDuration)
			}
		}
		return user{}, loginInvalid, 0
	}
	delete(s.locks, name)
	return *u, loginOK, 0
}

// lockMessage renders the remaining lock time as upstream does:
// whole minutes rounded up, "15 minute(s)".
func lockMessage(d time.Duration) string {
	m := int((d + time.Minute - 1) / time.Minute)
	if m < 1 {
		m = 1
	}
	return fmt.Sprintf("%d minute(s)", m)
}
