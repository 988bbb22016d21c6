package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/redact"
	"github.com/kalamdash/kalamdash/session"
)

// connFlags are the connection flags of every command that connects (the
// dashboard, record): one set, one meaning. They override the profile and
// the KALAMDB_* environment (session.ProfilesFile.Resolve).
type connFlags struct {
	url           string
	user          string
	passwordStdin bool
	token         string
	tokenCommand  string
	tokenFile     string
	profile       string
	noCompress    bool
	msgpack       bool
}

// register adds the connection flags to cmd.
func (f *connFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.url, "url", "", "KalamDB server URL (http(s):// or ws(s)://), or a cluster's node URLs separated by commas (the client fails over between them); KALAMDB_URL")
	fl.StringVar(&f.user, "user", "", "user name for password login; KALAMDB_USER")
	fl.BoolVar(&f.passwordStdin, "password-stdin", false, "read the password from the first line of stdin (else KALAMDB_PASSWORD)")
	fl.StringVar(&f.token, "token", "", "JWT access token to authenticate with (prefer KALAMDB_TOKEN: flags show in ps)")
	fl.StringVar(&f.tokenCommand, "token-command", "", "command that prints a token, run before every (re)connect and on refreshAuth (no shell: use sh -c '…' for pipes)")
	fl.StringVar(&f.tokenFile, "token-file", "", "file holding a token, re-read before every (re)connect and watched for changes")
	fl.StringVar(&f.profile, "profile", "", "saved profile name from profiles.toml")
	fl.BoolVar(&f.noCompress, "no-compress", false, "connect with compress=false (text frames)")
	fl.BoolVar(&f.msgpack, "msgpack", false, "use MessagePack serialization")
}

// overrides returns what the flags set, as the profile session's Override
// applies; --password-stdin reads the password from stdin's first line.
func (f connFlags) overrides(stdin io.Reader) (session.Profile, error) {
	o := session.Profile{URL: f.url, User: f.user, Token: f.token, TokenCommand: f.tokenCommand,
		TokenFile: f.tokenFile, NoCompress: f.noCompress}
	if f.msgpack {
		o.Serialization = "msgpack"
	}
	if f.passwordStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return o, fmt.Errorf("read password from stdin: %w", err)
		}
		o.Password = strings.TrimRight(line, "\r\n")
	}
	return o, nil
}

// resolve returns the profile to connect with: --profile (or the file's
// default) from pf, read from path, then the environment, then the flags.
func (f connFlags) resolve(stdin io.Reader, pf *session.ProfilesFile, path string) (session.Profile, error) {
	o, err := f.overrides(stdin)
	if err != nil {
		return session.Profile{}, err
	}
	p, err := pf.Resolve(f.profile, o, os.Getenv)
	if err != nil {
		return p, fmt.Errorf("%w in %s", err, path)
	}
	if err := checkNodes(p.URL); err != nil {
		return p, err
	}
	return p, nil
}

// checkNodes refuses a malformed server URL or node list (from --url,
// KALAMDB_URL or the profile) before anything connects, naming the entry
// at fault.
func checkNodes(raw string) error {
	if raw == "" {
		return nil
	}
	if _, err := client.ParseNodes(raw); err != nil {
		var ce *client.Error
		if errors.As(err, &ce) {
			err = errors.New(ce.Message) // without the client's "connect: "
		}
		return fmt.Errorf("server URL %q: %w (list a cluster's nodes as http://host1:8080,http://host2:8080)", shownNodes(raw), err)
	}
	return nil
}

// shownNodes is a URL or node list as messages quote it: each node without
// its credentials (a list is refused for carrying them).
func shownNodes(raw string) string {
	parts := strings.Split(raw, client.NodeSeparator)
	for i, p := range parts {
		parts[i] = redact.URL(p)
	}
	return strings.Join(parts, client.NodeSeparator)
}

// loadProfiles reads the user's profiles file; without a config directory
// (no HOME) there are no profiles.
func loadProfiles() (pf *session.ProfilesFile, path string, err error) {
	path, err = session.DefaultProfilesPath()
	if err != nil {
		return &session.ProfilesFile{}, "", nil
	}
	if pf, err = session.LoadProfiles(path); err != nil {
		return nil, path, fmt.Errorf("%w (fix or move the profiles file)", err)
	}
	return pf, path, nil
}
