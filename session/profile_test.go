package session

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const goodProfiles = `default = "local"

[[profile]]
name = "local"
url = "http://127.0.0.1:8080"
auth = "password"
user = "alice"
refresh_policy = "before 80%"

[[profile]]
name = "prod"
url = "https://db.example.com"
auth = "jwt"
no_compress = true
serialization = "msgpack"
cache_token = true
`

func TestParseProfiles(t *testing.T) {
	f, err := ParseProfiles("profiles.toml", []byte(goodProfiles))
	if err != nil {
		t.Fatal(err)
	}
	p, ok := f.Get("")
	if !ok || p.Name != "local" || p.User != "alice" || p.Mode() != AuthPassword {
		t.Fatalf("default %+v", p)
	}
	if pol, _ := p.Policy(); pol != BeforeExpiryFraction(0.8) {
		t.Errorf("policy %v", pol)
	}
	prod, ok := f.Get("prod")
	if !ok || !prod.NoCompress || prod.Serialization != "msgpack" || !prod.CacheToken || prod.Mode() != AuthJWT {
		t.Errorf("prod %+v", prod)
	}
	if _, ok := f.Get("nope"); ok {
		t.Error("unknown profile found")
	}
}

func TestParseProfilesErrorsNameTheLine(t *testing.T) {
	cases := map[string]struct{ text, want string }{
		"syntax":      {"[[profile]]\nname = \"a\"\nurl = http://x\n", "p.toml:3:"},
		"unknown key": {"[[profile]]\nname = \"a\"\nurl = \"http://x:1\"\npassword = \"pw\"\n", "p.toml:4: unknown key"},
		"bad url":     {"[[profile]]\nname = \"a\"\n\nurl = \"ftp://x\"\n", "p.toml:4:"},
		"bad policy":  {"[[profile]]\nname = \"a\"\nurl = \"http://x:1\"\nrefresh_policy = \"sometimes\"\n", "p.toml:4:"},
		"bad auth":    {"[[profile]]\nname = \"a\"\nurl = \"http://x:1\"\nauth = \"kerberos\"\n", "p.toml:4:"},
		"no name":     {"[[profile]]\nurl = \"http://x:1\"\n\n[[profile]]\nurl = \"http://y:1\"\n", "p.toml:1: profile has no name"},
		"duplicate":   {"[[profile]]\nname = \"a\"\nurl = \"http://x:1\"\n[[profile]]\nname = \"a\"\nurl = \"http://x:1\"\n", "p.toml:4:"},
		"bad default": {"default = \"zz\"\n[[profile]]\nname = \"a\"\nurl = \"http://x:1\"\n", "p.toml:1: default profile"},
		"token-cmd":   {"[[profile]]\nname = \"a\"\nurl = \"http://x:1\"\nauth = \"token-command\"\n", "p.toml:4:"},
	}
	for name, c := range cases {
		_, err := ParseProfiles("p.toml", []byte(c.text))
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: %v, want prefix %q", name, err, c.want)
		}
	}
	// A password is never accepted from the file (unknown key above) —
	// nor written to it.
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "profiles.toml")
	f := &ProfilesFile{}
	f.Put(Profile{Name: "x", URL: "http://h:1", User: "u", Password: "hunter2", Token: "tok"})
	if err := SaveProfiles(path, f); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), "hunter2") || strings.Contains(string(data), "tok\"") {
		t.Errorf("secret saved: %s", data)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	back, err := LoadProfiles(path)
	if err != nil || len(back.Profiles) != 1 || back.Profiles[0].User != "u" {
		t.Errorf("reload %+v %v", back, err)
	}
	if empty, err := LoadProfiles(filepath.Join(dir, "missing.toml")); err != nil || len(empty.Profiles) != 0 {
		t.Errorf("missing file: %v", err)
	}
}

func TestApplyEnv(t *testing.T) {
	env := map[string]string{EnvURL: "http://env:9", EnvUser: "eve", EnvPassword: "pw"}
	p := ApplyEnv(Profile{Name: "a", URL: "http://file:1"}, func(k string) string { return env[k] })
	if p.URL != "http://env:9" || p.User != "eve" || p.Password != "pw" || p.Mode() != AuthPassword {
		t.Errorf("%+v", p)
	}
	env[EnvToken] = "jwt"
	p = ApplyEnv(Profile{Name: "a"}, func(k string) string { return env[k] })
	if p.Mode() != AuthJWT || p.Token != "jwt" {
		t.Errorf("%+v", p)
	}
	if strings.Contains(p.String(), "pw") || strings.Contains(p.String(), "jwt\"") {
		t.Errorf("String leaks: %s", p)
	}
}

func TestConfigDirFollowsXDG(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", "/xdg")
	if p, _ := DefaultProfilesPath(); p != "/xdg/kalamdash/profiles.toml" {
		t.Errorf("%s", p)
	}
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("HOME", "/home/u")
	if p, _ := DefaultProfilesPath(); p != "/home/u/.config/kalamdash/profiles.toml" {
		t.Errorf("%s", p)
	}
}

// TestProfileMerge: the login form wins for what it shows; the saved
// profile keeps the rest, and a profile without a policy gets the default.
func TestProfileMerge(t *testing.T) {
	saved := Profile{Name: "prod", URL: "https://prod:8080", Auth: AuthTokenCommand, TokenCommand: "gcloud auth print-identity-token",
		RefreshPolicy: "every 55m", CAFile: "/etc/ca.pem", Insecure: true, CacheToken: true, NoCompress: true}
	form := Profile{Name: "prod", URL: "https://prod:9090", Auth: AuthTokenCommand, User: "alice", Serialization: "msgpack"}
	got := saved.Merge(form)
	want := Profile{Name: "prod", URL: "https://prod:9090", Auth: AuthTokenCommand, User: "alice", Serialization: "msgpack",
		TokenCommand: "gcloud auth print-identity-token", RefreshPolicy: "every 55m", CAFile: "/etc/ca.pem", Insecure: true, CacheToken: true}
	if got != want {
		t.Errorf("merge:\n got %+v\nwant %+v", got, want)
	}
	// The form's own token file and mode win; no saved policy → default.
	got = Profile{}.Merge(Profile{URL: "http://x:1", Auth: AuthTokenFile, TokenFile: "/run/token"})
	if got.Auth != AuthTokenFile || got.TokenFile != "/run/token" || got.RefreshPolicy != DefaultRefreshPolicy {
		t.Errorf("merge without a saved profile: %+v", got)
	}
	if got := (Profile{Auth: AuthJWT}).Merge(Profile{URL: "http://x:1"}); got.Auth != AuthJWT {
		t.Errorf("a form without a mode keeps the profile's: %+v", got)
	}
}

// TestProfilesResolve: profile, then environment, then flags, each
// overriding the one before; a credential flag switches the auth mode.
func TestProfilesResolve(t *testing.T) {
	pf := &ProfilesFile{Default: "p", Profiles: []Profile{{Name: "p", URL: "http://file:1", User: "fileuser", Auth: AuthPassword, RefreshPolicy: "every 1m"}}}
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	cases := []struct {
		name  string
		flags Profile
		env   map[string]string
		check func(Profile) bool
	}{
		{"", Profile{}, nil, func(p Profile) bool {
			return p.Name == "p" && p.URL == "http://file:1" && p.RefreshPolicy == "every 1m"
		}},
		// A URL from flags or the environment means "not the default profile".
		{"", Profile{URL: "http://flag:2"}, nil, func(p Profile) bool { return p.Name == "" && p.URL == "http://flag:2" }},
		{"", Profile{}, map[string]string{EnvURL: "http://env:3"}, func(p Profile) bool { return p.Name == "" && p.URL == "http://env:3" }},
		{"p", Profile{User: "flaguser", Serialization: "msgpack"}, map[string]string{EnvUser: "envuser"},
			func(p Profile) bool {
				return p.User == "flaguser" && p.Serialization == "msgpack" && p.Mode() == AuthPassword
			}},
		{"p", Profile{Token: "tok"}, nil, func(p Profile) bool { return p.Mode() == AuthJWT && p.Token == "tok" }},
		{"p", Profile{TokenCommand: "get-token"}, nil, func(p Profile) bool { return p.Mode() == AuthTokenCommand && p.TokenCommand == "get-token" }},
		{"p", Profile{TokenFile: "/run/t"}, nil, func(p Profile) bool { return p.Mode() == AuthTokenFile && p.TokenFile == "/run/t" }},
		{"", Profile{URL: "http://x:3", User: "u", Password: "pw"}, nil, func(p Profile) bool { return p.Mode() == AuthPassword && p.Password == "pw" }},
		// A password does not undo a token's mode.
		{"", Profile{URL: "http://x:3", Token: "tok", Password: "pw"}, nil, func(p Profile) bool { return p.Mode() == AuthJWT }},
	}
	for i, c := range cases {
		clear(env)
		for k, v := range c.env {
			env[k] = v
		}
		p, err := pf.Resolve(c.name, c.flags, getenv)
		if err != nil || !c.check(p) {
			t.Errorf("case %d: %+v, %v", i, p, err)
		}
	}
	if _, err := pf.Resolve("missing", Profile{}, getenv); err == nil || !strings.Contains(err.Error(), `"missing"`) {
		t.Errorf("missing profile: %v", err)
	}
}

func TestCredentialSource(t *testing.T) {
	for p, want := range map[Profile]string{
		{User: "alice"}: "password login (alice)",
		{Token: "t"}:    "pasted JWT",
		{Auth: AuthTokenCommand, TokenCommand: "gcloud auth print-identity-token --secret x"}: "token command gcloud",
		{Auth: AuthTokenFile, TokenFile: "/run/token"}:                                        "token file /run/token",
		{}: "none",
	} {
		if got := p.CredentialSource(); got != want {
			t.Errorf("%+v: %q, want %q", p, got, want)
		}
	}
}
