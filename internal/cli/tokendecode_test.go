package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/kalamtest/mint"
)

// runTokenDecode runs `token decode args…` with stdin and returns what it
// printed on stdout and stderr.
func runTokenDecode(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newTokenCmd()
	var out, errOut bytes.Buffer
	cmd.SetArgs(append([]string{"decode"}, args...))
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err = cmd.Execute()
	return out.String(), errOut.String(), err
}

func TestTokenDecodeMintedTokenShowsSubAndExp(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	tok, err := mint.Token("s3cret", "alice", "dba", 10*time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, err := runTokenDecode(t, tok+"\n")
	if err != nil {
		t.Fatalf("decode: %v\n%s", err, out)
	}
	exp := now.Add(10 * time.Minute).UTC().Format("2006-01-02 15:04:05 UTC")
	for _, want := range []string{"signature NOT verified", `sub         "alice"`, exp, "an access token", `role        "dba"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if stderr != "" {
		t.Errorf("a token read from stdin needs no note, got %q", stderr)
	}

	// The same token as `token mint --json` prints it, decoded for a script.
	wrapped := `{"access_token":"` + tok + `","expires_at":"` + now.Add(10*time.Minute).UTC().Format(time.RFC3339) + `"}`
	out, _, err = runTokenDecode(t, wrapped, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		SignatureVerified bool           `json:"signature_verified"`
		Kind              string         `json:"kind"`
		Claims            map[string]any `json:"claims"`
		Times             map[string]struct {
			UTC string `json:"utc"`
		} `json:"times"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, out)
	}
	if got.SignatureVerified || got.Kind != "access" || got.Claims["sub"] != "alice" ||
		got.Times["exp"].UTC != now.Add(10*time.Minute).UTC().Format(time.RFC3339) {
		t.Errorf("--json = %+v", got)
	}
}

func TestTokenDecodeArgumentWarnsAboutTheProcessList(t *testing.T) {
	tok, err := mint.Token("s3cret", "bob", "user", -2*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, err := runTokenDecode(t, "", "Bearer "+tok)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "process list") {
		t.Errorf("no warning about argv: %q", stderr)
	}
	if !strings.Contains(out, "expired 2h0m") || !strings.Contains(out, "every server check refuses it") {
		t.Errorf("an expired token is not called expired:\n%s", out)
	}
}

func TestTokenDecodePrintsHostileClaimsInertly(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	payload := "{\"sub\":\"a\\u001b]0;PWNED\\u0007b\",\"\u202eevil\\u001b[31m\":\"x\u0085y\",\"token_type\":\"refresh\",\"exp\":\"soon\"}"
	tok := enc([]byte(`{"alg":"HS256"}`)) + "." + enc([]byte(payload)) + ".sig"
	for _, c := range []struct {
		args []string
		bidi string // the RLO: a marker for people, an escape in JSON
	}{{nil, "<U+202E>evil"}, {[]string{"--json"}, `\u202eevil`}} {
		args := c.args
		out, _, err := runTokenDecode(t, tok, args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if strings.ContainsAny(out, "\x1b\x07\u202e\u0085") {
			t.Errorf("%v: raw control or bidi characters reached the output:\n%q", args, out)
		}
		for _, want := range []string{`\u001b]0;PWNED\u0007`, c.bidi, "refresh", `is a string, not a number`} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: output lacks %q:\n%s", args, want, out)
			}
		}
	}
}

func TestTokenDecodeGarbageExplainsAndFails(t *testing.T) {
	out, _, err := runTokenDecode(t, "not-a-token-at-all")
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("exit: %v", err)
	}
	if !strings.Contains(out, "1 part(s) separated by dots") || strings.Contains(out, "not-a-token-at-all") {
		t.Errorf("output:\n%s", out)
	}
	if _, _, err := runTokenDecode(t, "  \n"); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty input: %v", err)
	}
}
