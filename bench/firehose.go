package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kalamdash/kalamdash/kalamtest"
	"github.com/kalamdash/kalamdash/session"
)

// Firehose is `kalamdash serve --firehose` in a process of its own: the
// source of the firehose benchmarks. The benchmark process then holds
// only the reader, so its CPU time (getrusage) is the reader's alone —
// the source's encoding, compression and writes are counted elsewhere.
//
// Pause and Resume stop and continue the whole source process (SIGSTOP,
// SIGCONT): lanes take turns, and a lane whose source is paused gets
// nothing to read, so it costs nothing while another lane is timed.
type Firehose struct {
	URL      string // http://127.0.0.1:PORT
	RowBytes int
	cmd      *exec.Cmd
	exited   chan struct{}
}

// BinEnv names the environment variable holding the kalamdash binary the
// firehose benchmarks start (bench/run sets it); without it the package
// builds one once per test process.
const BinEnv = "KALAMDASH_BIN"

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// kalamdashBin returns the binary to run as the source.
func kalamdashBin() (string, error) {
	if bin := os.Getenv(BinEnv); bin != "" {
		return bin, nil
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kdbench-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "kalamdash")
		out, err := exec.Command("go", "build", "-o", builtBin, "github.com/kalamdash/kalamdash").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build kalamdash for the firehose source: %v: %s", err, out)
		}
	})
	return builtBin, buildErr
}

// cleanBuiltBin removes the binary kalamdashBin built, if any.
func cleanBuiltBin() {
	if builtBin != "" {
		_ = os.RemoveAll(filepath.Dir(builtBin))
	}
}

var servingOn = regexp.MustCompile(`server on (http://\S+)`)

// StartFirehose starts a source streaming rows of rowBytes at rate
// changes/s (0: as fast as its subscriber reads), each socket's queue
// holding KalamDB's 128 notifications.
func StartFirehose(ctx context.Context, rate, rowBytes int) (*Firehose, error) {
	bin, err := kalamdashBin()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--user", User+":"+Password+":dba",
		"--jwt-secret", secret, "--firehose", "--firehose-rate", strconv.Itoa(rate),
		"--firehose-row-bytes", strconv.Itoa(rowBytes))
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = io.Discard // a line per socket and request; the counts come from the endpoint
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("firehose source: %w", err)
	}
	f := &Firehose{RowBytes: rowBytes, cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(f.exited)
	}()
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := servingOn.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
	}()
	select {
	case f.URL = <-urls:
		return f, nil
	case <-f.exited:
		return nil, fmt.Errorf("firehose source exited before serving (%v)", cmd.ProcessState)
	case <-ctx.Done():
		f.Close()
		return nil, fmt.Errorf("firehose source: %w", ctx.Err())
	}
}

// WSURL is the source's WebSocket endpoint.
func (f *Firehose) WSURL() string { return "ws" + f.URL[len("http"):] + "/v1/ws" }

// Pause stops the source process; Resume continues it.
func (f *Firehose) Pause() error { return f.cmd.Process.Signal(syscall.SIGSTOP) }

// Resume continues a paused source.
func (f *Firehose) Resume() error { return f.cmd.Process.Signal(syscall.SIGCONT) }

// CPU is the source process's CPU time so far (user + system).
func (f *Firehose) CPU() (time.Duration, error) { return procCPU(f.cmd.Process.Pid) }

// procCPU is a process's CPU time (user + system) from /proc/PID/stat,
// in clock ticks of 10 ms (Linux's USER_HZ).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("procCPU: no command name in /proc/PID/stat")
	}
	f := strings.Fields(s[i+1:]) // from the state on: utime and stime are the 12th and 13th
	if len(f) < 13 {
		return 0, errors.New("procCPU: short /proc/PID/stat")
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// Report reads the source's counts (the source must not be paused).
func (f *Firehose) Report(ctx context.Context) (kalamtest.FirehoseReport, error) {
	var r kalamtest.FirehoseReport
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.URL+kalamtest.FirehosePath, nil)
	if err != nil {
		return r, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return r, fmt.Errorf("firehose report: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return r, fmt.Errorf("firehose report: %s", res.Status)
	}
	return r, json.NewDecoder(res.Body).Decode(&r)
}

// Dropped sums what the source dropped for every subscriber so far.
func (f *Firehose) Dropped(ctx context.Context) (uint64, error) {
	r, err := f.Report(ctx)
	var n uint64
	for _, s := range r.Subscribers {
		n += s.Dropped
	}
	return n, err
}

// Close stops the source (SIGINT: it closes its sockets with 1001), or
// kills it if it does not stop within 2 s (a socket whose reader is gone
// can hold the close handshake up).
func (f *Firehose) Close() {
	_ = f.Resume()
	_ = f.cmd.Process.Signal(os.Interrupt)
	select {
	case <-f.exited:
	case <-time.After(2 * time.Second):
		_ = f.cmd.Process.Kill()
		<-f.exited
	}
}

// DialFirehoseBare opens a bare reader on the firehose, of MessagePack
// frames if msgpack.
func DialFirehoseBare(ctx context.Context, f *Firehose, compress, msgpack bool) (*Bare, error) {
	tok, err := benchToken()
	if err != nil {
		return nil, err
	}
	return dialBare(ctx, f.WSURL(), tok, compress, msgpack, kalamtest.FirehoseSQL)
}

// OpenFirehosePipeline opens the dashboard pipeline on the firehose,
// logging in with the password as the dashboard would, asking for
// MessagePack frames if msgpack.
func OpenFirehosePipeline(ctx context.Context, f *Firehose, compress, msgpack bool, logFrames int) (*Pipeline, error) {
	prof := session.Profile{Name: "bench", URL: f.URL, User: User, Password: Password, NoCompress: !compress}
	if msgpack {
		prof.Serialization = "msgpack"
	}
	return openPipeline(ctx, prof, logFrames, kalamtest.FirehoseSQL)
}
