package tokensource

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// File is an AuthProvider that re-reads a token file on every call: before
// every (re)connect and on every RefreshAuth. A sidecar that rotates the
// file is therefore picked up on the next connection without any signal;
// Watch additionally reports changes so the UI can offer a refresh.
type File struct {
	path string
	now  func() time.Time
	hist history
}

// NewFile returns a source reading path. The file need not exist yet.
func NewFile(path string) *File { return &File{path: path, now: time.Now} }

// String names the source.
func (f *File) String() string { return "file " + f.path }

// Path returns the file's path.
func (f *File) Path() string { return f.path }

// Provider returns f as a client.AuthProvider.
func (f *File) Provider() client.AuthProvider { return f.Provide }

// Invocations returns the recent invocations, oldest first.
func (f *File) Invocations() []Invocation { return f.hist.snapshot() }

// Provide reads and parses the file.
func (f *File) Provide(ctx context.Context) (client.Auth, error) {
	start := f.now()
	tok, warning, err := f.read()
	inv := Invocation{Time: start, Duration: f.now().Sub(start), Err: err, Warning: warning}
	if err == nil {
		inv.Fingerprint, inv.Expiry = client.Fingerprint(tok.JWT), tok.Expiry
	}
	f.hist.add(inv)
	if err != nil {
		return client.Auth{}, err
	}
	return client.JWT(tok.JWT), nil
}

func (f *File) read() (Token, string, error) {
	fh, err := os.Open(f.path)
	if err != nil {
		if os.IsNotExist(err) {
			return Token{}, "", fmt.Errorf("token file %s does not exist (yet?)", f.path)
		}
		return Token{}, "", fmt.Errorf("token file %s: %v", f.path, err)
	}
	defer fh.Close()
	var warning string
	if st, err := fh.Stat(); err == nil {
		if st.IsDir() {
			return Token{}, "", fmt.Errorf("token file %s is a directory", f.path)
		}
		if perm := st.Mode().Perm(); perm&0o077 != 0 {
			warning = fmt.Sprintf("token file is readable by others (mode %04o); chmod 600 %s", perm, f.path)
		}
	}
	data, err := io.ReadAll(io.LimitReader(fh, maxTokenOutput+1))
	if err != nil {
		return Token{}, warning, fmt.Errorf("token file %s: %v", f.path, err)
	}
	tok, err := ParseToken(data)
	if err != nil {
		return Token{}, warning, fmt.Errorf("token file %s holds no usable token: %v", f.path, err)
	}
	return tok, warning, nil
}

// FileChange reports that the token file changed on disk.
type FileChange struct {
	Time        time.Time
	Fingerprint string // of the new token; "" when it does not parse
	Err         error  // why the new content is unusable, if it is
}

// Watch polls the file every interval (default 1 s when ≤ 0) and sends a
// FileChange whenever its content changes, until ctx ends; then the channel
// closes. Polling, not inotify: it works for files replaced by rename, on
// network file systems and in containers alike, at the cost of a stat a
// second. Sends never block: a change the reader has not taken yet is
// replaced by the newer one.
func (f *File) Watch(ctx context.Context, interval time.Duration) <-chan FileChange {
	if interval <= 0 {
		interval = time.Second
	}
	out := make(chan FileChange, 1)
	// The baseline is taken before Watch returns, so a change made right
	// after the call is reported rather than mistaken for the baseline.
	last := f.digest()
	go func() {
		defer close(out)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			d := f.digest()
			if d == last {
				continue
			}
			last = d
			ch := FileChange{Time: f.now()}
			if tok, _, err := f.read(); err != nil {
				ch.Err = err
			} else {
				ch.Fingerprint = client.Fingerprint(tok.JWT)
			}
			select { // keep only the newest pending change
			case <-out:
			default:
			}
			out <- ch
		}
	}()
	return out
}

// digest identifies the file's current content; a missing file has the
// zero digest.
func (f *File) digest() [32]byte {
	data, err := os.ReadFile(f.path)
	if err != nil {
		return [32]byte{}
	}
	return sha256.Sum256(data)
}
