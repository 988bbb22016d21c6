package cli

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/internal/testkit"
)

// TestClusterDashboardEndToEnd runs `kalamdash serve --cluster 3` and the
// dashboard on node 2 in tmux, as a person would: the Cluster view shows
// the three nodes and the group leaders, o opens a tab per node, and the
// fault commands typed on serve's stdin (stop 3, start 3, lead 3 10) show
// on the dashboard as they happen.
func TestClusterDashboardEndToEnd(t *testing.T) {
	dir, bin := buildForTmux(t)
	port := freePorts(t, 3)
	srv := exec.Command(bin, "serve", "--cluster", "3", "--demo", "--addr", fmt.Sprintf("127.0.0.1:%d", port))
	stdin, err := srv.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &testkit.SyncBuffer{}
	srv.Stdout, srv.Stderr = out, io.Discard
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = srv.Process.Signal(os.Interrupt)
		_ = srv.Wait()
	})
	testkit.Eventually(t, "serve to list its nodes", func() bool { return strings.Contains(out.String(), "press Ctrl-C to stop") })
	fault := func(cmd, answer string) {
		t.Helper()
		before := strings.Count(out.String(), answer)
		if _, err := io.WriteString(stdin, cmd+"\n"); err != nil {
			t.Fatalf("serve's stdin: %v", err)
		}
		testkit.Eventually(t, "serve to answer "+cmd, func() bool { return strings.Count(out.String(), answer) > before })
	}

	node := func(k int) string { return fmt.Sprintf("http://127.0.0.1:%d", port+k-1) }
	s := startTmuxWith(t, dir, bin, 120, 36, []string{"KALAMDB_PASSWORD=admin"}, "--url", node(2), "--user", "admin",
		"--log", filepath.Join(dir, "dash.log"))
	s.waitText(30*time.Second, "server URL", "enter connect")
	s.keys("Enter")
	s.waitText(30*time.Second, "● connected")
	s.keys("4")
	s.waitText(30*time.Second, "Cluster kalamdb-cluster · 3 nodes", "from system.cluster_groups", "10 meta→1", node(3))
	s.keys("o")
	s.waitText(30*time.Second, "node1 ●", "node3 ●")

	fault("stop 3", "stop 3: done")
	s.waitText(30*time.Second, "unreachable", "✗ node 3 does not answer", "node 3: does not answer", "node3 ○")
	fault("start 3", "start 3: done")
	s.waitText(30*time.Second, "node 3: answers again", "node3 ●")
	s.waitFor("node 3 active again", 30*time.Second, func(scr string) bool {
		return !strings.Contains(scr, "unreachable")
	})
	fault("lead 3 10", "lead 3 10: done")
	s.waitText(30*time.Second, "10 meta→3", "group 10 meta: leader node 1 → node 3")

	s.quit()
}

// freePorts returns the first of n consecutive loopback ports that are
// free now (serve --cluster puts node k on the port + k-1).
func freePorts(t *testing.T, n int) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := l.Addr().(*net.TCPAddr).Port
		l.Close()
		ok := base+n-1 <= 65535
		for k := 1; ok && k < n; k++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+k))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no run of free ports")
	return 0
}
