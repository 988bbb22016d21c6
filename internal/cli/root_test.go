package cli

import (
	"strings"
	"testing"

	"github.com/kalamdash/kalamdash/session"
)

// TestLoginDefaultsPrecedence: flags beat the environment, which beats the
// profile; a token switches to JWT auth.
func TestLoginDefaultsPrecedence(t *testing.T) {
	pf, err := session.ParseProfiles("profiles.toml", []byte("default = \"p\"\n[[profile]]\nname = \"p\"\nurl = \"http://profile:1\"\nauth = \"password\"\nuser = \"pu\"\nno_compress = true\n"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("KALAMDB_URL", "")
	t.Setenv("KALAMDB_USER", "")
	t.Setenv("KALAMDB_PASSWORD", "")
	t.Setenv("KALAMDB_TOKEN", "")
	cmd := newRootCmd()

	d, err := loginDefaults(cmd, rootFlags{}, pf, "profiles.toml")
	if err != nil || d.URL != "http://profile:1" || d.User != "pu" || !d.NoCompress || d.Profile != "p" {
		t.Fatalf("default profile: %+v, %v", d, err)
	}
	t.Setenv("KALAMDB_USER", "envuser")
	d, _ = loginDefaults(cmd, rootFlags{conn: connFlags{profile: "p"}}, pf, "profiles.toml")
	if d.User != "envuser" {
		t.Errorf("env user: %+v", d)
	}
	d, _ = loginDefaults(cmd, rootFlags{conn: connFlags{profile: "p", user: "flaguser", url: "http://flag:2", msgpack: true}}, pf, "profiles.toml")
	if d.User != "flaguser" || d.URL != "http://flag:2" || !d.Msgpack {
		t.Errorf("flags: %+v", d)
	}
	d, _ = loginDefaults(cmd, rootFlags{conn: connFlags{url: "http://x:3", token: "tok"}}, pf, "profiles.toml")
	if d.Auth != "jwt" || d.Token != "tok" || d.Profile != "" {
		t.Errorf("token flag: %+v", d)
	}
	cmd.SetIn(strings.NewReader("s3cret\n"))
	d, _ = loginDefaults(cmd, rootFlags{conn: connFlags{url: "http://x:3", user: "u", passwordStdin: true}}, pf, "profiles.toml")
	if d.Password != "s3cret" || d.Auth != "password" {
		t.Errorf("password-stdin: %+v", d)
	}
	if _, err := loginDefaults(cmd, rootFlags{conn: connFlags{profile: "missing"}}, pf, "profiles.toml"); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing profile error: %v", err)
	}
}
