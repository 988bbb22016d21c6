package session

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/kalamdash/kalamdash/client"
)

// AuthMode says how a profile authenticates.
type AuthMode string

// Auth modes.
const (
	AuthPassword     AuthMode = "password"      // user + password → login → JWT pair
	AuthJWT          AuthMode = "jwt"           // a pasted access token
	AuthNone         AuthMode = "none"          // no credentials (the server will refuse the socket)
	AuthTokenCommand AuthMode = "token-command" // run a command that prints a token
	AuthTokenFile    AuthMode = "token-file"    // read a token from a file
)

// Valid reports whether m is a known mode.
func (m AuthMode) Valid() bool {
	switch m {
	case AuthPassword, AuthJWT, AuthNone, AuthTokenCommand, AuthTokenFile:
		return true
	}
	return false
}

// Profile describes one connection. Password and Token are never written
// to the profiles file (they come from the login form, flags, the
// environment or the opt-in token cache).
type Profile struct {
	Name          string   `toml:"name"`
	URL           string   `toml:"url"` // one server, or a cluster's nodes separated by commas (client.ParseNodes)
	Auth          AuthMode `toml:"auth,omitempty"`
	User          string   `toml:"user,omitempty"`
	NoCompress    bool     `toml:"no_compress,omitempty"`   // send compress=false
	Serialization string   `toml:"serialization,omitempty"` // "json" (default) | "msgpack"
	RefreshPolicy string   `toml:"refresh_policy,omitempty"`
	TokenCommand  string   `toml:"token_command,omitempty"`
	TokenFile     string   `toml:"token_file,omitempty"`
	CAFile        string   `toml:"ca_file,omitempty"`
	Insecure      bool     `toml:"insecure,omitempty"` // skip TLS verification
	CacheToken    bool     `toml:"cache_token,omitempty"`

	Password string `toml:"-"` // in memory only
	Token    string `toml:"-"` // in memory only (AuthJWT, or from the token cache)
}

// String describes p without secrets.
func (p Profile) String() string {
	return fmt.Sprintf("%s (%s, %s, user %q)", p.Name, p.URL, p.Auth, p.User)
}

// Policy parses RefreshPolicy (empty → manual).
func (p Profile) Policy() (RefreshPolicy, error) { return ParseRefreshPolicy(p.RefreshPolicy) }

// Validate checks the profile's fields, with messages that say what to fix.
func (p Profile) Validate() error {
	if p.URL == "" {
		return errors.New("no server URL: set url (e.g. http://127.0.0.1:8080) or KALAMDB_URL")
	}
	if strings.Contains(p.URL, client.NodeSeparator) {
		// A cluster: every node is checked as the client will.
		if _, err := client.ParseNodes(p.URL); err != nil {
			var ce *client.Error
			if errors.As(err, &ce) {
				err = errors.New(ce.Message) // without the client's "connect: "
			}
			return fmt.Errorf("url %q lists cluster nodes, but %w", p.URL, err)
		}
		return p.validateAuth()
	}
	u, err := url.Parse(p.URL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("url %q is not a server URL: want e.g. http://127.0.0.1:8080", p.URL)
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		return fmt.Errorf("url %q: scheme %q is not supported: use http, https, ws or wss", p.URL, u.Scheme)
	}
	return p.validateAuth()
}

// validateAuth checks the fields after the URL.
func (p Profile) validateAuth() error {
	if p.Auth != "" && !p.Auth.Valid() {
		return fmt.Errorf("auth %q is not a mode: use password, jwt, none, token-command or token-file", p.Auth)
	}
	if p.Auth == AuthTokenCommand && p.TokenCommand == "" {
		return errors.New("auth is token-command but token_command is empty")
	}
	if p.Auth == AuthTokenFile && p.TokenFile == "" {
		return errors.New("auth is token-file but token_file is empty")
	}
	switch p.Serialization {
	case "", "json", "msgpack":
	default:
		return fmt.Errorf("serialization %q: use json or msgpack", p.Serialization)
	}
	if _, err := p.Policy(); err != nil {
		return err
	}
	return nil
}

// Mode returns Auth, defaulting to password when a user is set, else jwt
// when a token is set, else none.
func (p Profile) Mode() AuthMode {
	switch {
	case p.Auth != "":
		return p.Auth
	case p.User != "":
		return AuthPassword
	case p.Token != "":
		return AuthJWT
	}
	return AuthNone
}

// TLSOptions are the client options of p's TLS settings (ca_file,
// insecure).
func (p Profile) TLSOptions() []client.Option {
	var opts []client.Option
	if p.CAFile != "" {
		opts = append(opts, client.WithCAFile(p.CAFile))
	}
	if p.Insecure {
		opts = append(opts, client.WithInsecureSkipVerify())
	}
	return opts
}

// CredentialSource says in words where p's credentials come from, for the
// token panel ("password login (alice)", "token command gcloud"). It names
// a token command by its program only: its arguments may carry secrets.
func (p Profile) CredentialSource() string {
	switch p.Mode() {
	case AuthPassword:
		return "password login (" + p.User + ")"
	case AuthJWT:
		return "pasted JWT"
	case AuthTokenCommand:
		if f := strings.Fields(p.TokenCommand); len(f) > 0 {
			return "token command " + f[0]
		}
		return "token command"
	case AuthTokenFile:
		return "token file " + p.TokenFile
	}
	return "none"
}

// Merge returns the profile the dashboard opens when its login form,
// filled from the saved profile p (the zero Profile when none), is
// submitted as form. The form wins for everything it shows (name, URL,
// auth mode, user, password, token, compression, serialization; a token
// command or file when it holds one); p keeps what the form does not show
// (refresh policy, TLS settings, token cache). A profile naming no policy
// gets DefaultRefreshPolicy.
func (p Profile) Merge(form Profile) Profile {
	out := form
	out.RefreshPolicy, out.CAFile, out.Insecure, out.CacheToken = p.RefreshPolicy, p.CAFile, p.Insecure, p.CacheToken
	if out.TokenCommand == "" {
		out.TokenCommand = p.TokenCommand
	}
	if out.TokenFile == "" {
		out.TokenFile = p.TokenFile
	}
	if out.Auth == "" {
		out.Auth = p.Auth
	}
	if out.RefreshPolicy == "" {
		out.RefreshPolicy = DefaultRefreshPolicy
	}
	return out
}

// Override returns p with command-line overrides applied: each field o
// sets wins (URL, user, password, token, token command, token file,
// serialization; NoCompress when true), and a credential switches to the
// auth mode it implies: a token to jwt, a token command or file to theirs,
// a user or password to password unless a mode is already set.
func (p Profile) Override(o Profile) Profile {
	if o.URL != "" {
		p.URL = o.URL
	}
	if o.User != "" {
		p.User = o.User
	}
	if o.Password != "" {
		p.Password = o.Password
	}
	if (o.User != "" || o.Password != "") && p.Auth == "" {
		p.Auth = AuthPassword
	}
	if o.Token != "" {
		p.Token, p.Auth = o.Token, AuthJWT
	}
	if o.TokenCommand != "" {
		p.TokenCommand, p.Auth = o.TokenCommand, AuthTokenCommand
	}
	if o.TokenFile != "" {
		p.TokenFile, p.Auth = o.TokenFile, AuthTokenFile
	}
	if o.NoCompress {
		p.NoCompress = true
	}
	if o.Serialization != "" {
		p.Serialization = o.Serialization
	}
	return p
}

// Environment variables read by ApplyEnv.
const (
	EnvURL      = "KALAMDB_URL"
	EnvUser     = "KALAMDB_USER"
	EnvPassword = "KALAMDB_PASSWORD"
	EnvToken    = "KALAMDB_TOKEN"
)

// ApplyEnv returns p with the KALAMDB_* environment overrides applied;
// getenv is usually os.Getenv. A token switches the mode to jwt, a
// password (with a user) to password.
func ApplyEnv(p Profile, getenv func(string) string) Profile {
	if v := getenv(EnvURL); v != "" {
		p.URL = v
	}
	if v := getenv(EnvUser); v != "" {
		p.User = v
	}
	if v := getenv(EnvPassword); v != "" {
		p.Password = v
		if p.Auth == "" || p.Auth == AuthNone {
			p.Auth = AuthPassword
		}
	}
	if v := getenv(EnvToken); v != "" {
		p.Token = v
		p.Auth = AuthJWT
	}
	return p
}

// ProfilesFile is the contents of profiles.toml:
//
//	default = "local"
//
//	[[profile]]
//	name = "local"
//	url = "http://127.0.0.1:8080"
//	auth = "password"
//	user = "alice"
//	refresh_policy = "before 80%"
type ProfilesFile struct {
	Default  string    `toml:"default,omitempty"`
	Profiles []Profile `toml:"profile"`
}

// Get returns the named profile ("" → the default, else the first).
func (f *ProfilesFile) Get(name string) (Profile, bool) {
	if name == "" {
		name = f.Default
	}
	for _, p := range f.Profiles {
		if name == "" || p.Name == name {
			return p, true
		}
	}
	return Profile{}, false
}

// Resolve returns the profile a command connects with: the profile named
// name (when name is empty, the file's default, unless flags or the
// environment name a server), then the KALAMDB_* environment (ApplyEnv),
// then flags (Override). getenv is usually os.Getenv.
func (f *ProfilesFile) Resolve(name string, flags Profile, getenv func(string) string) (Profile, error) {
	var p Profile
	if name == "" && flags.URL == "" && getenv(EnvURL) == "" {
		name = f.Default
	}
	if name != "" {
		var ok bool
		if p, ok = f.Get(name); !ok {
			return Profile{}, fmt.Errorf("no profile named %q", name)
		}
	}
	return ApplyEnv(p, getenv).Override(flags), nil
}

// Put adds p or replaces the profile of the same name.
func (f *ProfilesFile) Put(p Profile) {
	for i := range f.Profiles {
		if f.Profiles[i].Name == p.Name {
			f.Profiles[i] = p
			return
		}
	}
	f.Profiles = append(f.Profiles, p)
}

// ConfigDir returns $XDG_CONFIG_HOME/kalamdash, or ~/.config/kalamdash.
func ConfigDir() (string, error) {
	if d := os.Getenv("XDG_CONFIG_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "kalamdash"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the config directory: set XDG_CONFIG_HOME or HOME (%v)", err)
	}
	return filepath.Join(home, ".config", "kalamdash"), nil
}

// DefaultProfilesPath is ConfigDir()/profiles.toml.
func DefaultProfilesPath() (string, error) {
	d, err := ConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "profiles.toml"), nil
}

// LoadProfiles reads a profiles file. A missing file is an empty file.
// Syntax errors, unknown keys and invalid values are reported with the
// file name and line number.
func LoadProfiles(path string) (*ProfilesFile, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &ProfilesFile{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading profiles: %w", err)
	}
	return ParseProfiles(path, data)
}

// ParseProfiles parses profiles.toml contents; name is used in errors.
func ParseProfiles(name string, data []byte) (*ProfilesFile, error) {
	var f ProfilesFile
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		var se *toml.StrictMissingError
		if errors.As(err, &se) && len(se.Errors) > 0 {
			row, _ := se.Errors[0].Position()
			return nil, fmt.Errorf("%s:%d: unknown key %s (known: name, url, auth, user, no_compress, serialization, refresh_policy, token_command, token_file, ca_file, insecure, cache_token)",
				name, row, strings.Join(se.Errors[0].Key(), "."))
		}
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return nil, fmt.Errorf("%s:%d:%d: %s", name, row, col, de.Error())
		}
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	seen := map[string]bool{}
	for i, p := range f.Profiles {
		line := profileLine(data, i)
		if p.Name == "" {
			return nil, fmt.Errorf("%s:%d: profile has no name", name, line)
		}
		if seen[p.Name] {
			return nil, fmt.Errorf("%s:%d: profile %q is defined twice", name, line, p.Name)
		}
		seen[p.Name] = true
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("%s:%d: profile %q: %v", name, keyLine(data, line, err), p.Name, err)
		}
	}
	if f.Default != "" && !seen[f.Default] {
		return nil, fmt.Errorf("%s:%d: default profile %q is not defined", name, keyLineFrom(data, 1, "default"), f.Default)
	}
	return &f, nil
}

// profileLine returns the 1-based line of the i-th [[profile]] header.
func profileLine(data []byte, i int) int {
	n := -1
	for ln, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "[[profile]]") {
			n++
			if n == i {
				return ln + 1
			}
		}
	}
	return 1
}

// keyLine finds the line of the key an error from Validate is about,
// searching from the profile header; it falls back to the header line.
func keyLine(data []byte, header int, err error) int {
	msg := err.Error()
	for _, k := range []string{"url", "auth", "token_command", "token_file", "serialization", "refresh_policy"} {
		if strings.HasPrefix(msg, k+" ") || strings.HasPrefix(msg, "no server URL") && k == "url" ||
			strings.HasPrefix(msg, "refresh policy") && k == "refresh_policy" ||
			strings.Contains(msg, "but "+k) {
			if l := keyLineFrom(data, header, k); l > 0 {
				return l
			}
		}
	}
	return header
}

// keyLineFrom returns the first line ≥ from (until the next table header)
// assigning key, or from when not found.
func keyLineFrom(data []byte, from int, key string) int {
	lines := strings.Split(string(data), "\n")
	for i := from - 1; i < len(lines); i++ {
		t := strings.TrimSpace(lines[i])
		if i >= from && strings.HasPrefix(t, "[") {
			break
		}
		if k, _, ok := strings.Cut(t, "="); ok && strings.TrimSpace(k) == key {
			return i + 1
		}
	}
	return from
}

// SaveProfiles writes f to path (0600, directory 0700), atomically.
func SaveProfiles(path string, f *ProfilesFile) error {
	data, err := toml.Marshal(f)
	if err != nil {
		return fmt.Errorf("encoding profiles: %w", err)
	}
	return writeFile0600(path, data)
}

// writeFile0600 writes data via a temporary file and rename, so a crash
// never leaves a half-written file, with owner-only permissions.
func writeFile0600(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
