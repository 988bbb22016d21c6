package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/kalamtest"
)

func TestServeClusterFlagsValidation(t *testing.T) {
	requireServeRefuses(t, [][]string{
		{"--cluster", "-1"},
		{"--cluster", "10"},
		{"--cluster", "3", "--firehose"},
		{"--replication-lag", "1s"},
		{"--cluster", "3", "--replication-lag", "-1s"},
	})
}

// The fault commands `serve --cluster` reads on stdin act on the cluster,
// and bad ones say what is wrong without changing anything.
func TestServeClusterCommands(t *testing.T) {
	opts, err := serveOptions(serveFlags{addr: "127.0.0.1:0", accessTTL: time.Minute, cluster: 3})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kalamtest.NewCluster(3, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Close() })

	run := func(lines ...string) {
		t.Helper()
		for _, line := range lines {
			if _, err := clusterCommand(cl, line); err != nil {
				t.Errorf("%q: %v", line, err)
			}
		}
	}
	run("lead 2", "lead 3 10")
	if cl.Leader(kalamtest.MetaGroup) != cl.Node(3) || cl.Leader(cl.SharedGroup()) != cl.Node(2) {
		t.Errorf("after lead: meta on %s, shared on %s", cl.Leader(kalamtest.MetaGroup).URL, cl.Leader(cl.SharedGroup()).URL)
	}
	// Stopping or partitioning a leader elects the lowest reachable node.
	run("stop 2", "partition 3")
	if cl.Leader(kalamtest.MetaGroup) != cl.Node(1) || cl.Leader(cl.SharedGroup()) != cl.Node(1) {
		t.Errorf("after stop and partition: meta on %s, shared on %s", cl.Leader(kalamtest.MetaGroup).URL, cl.Leader(cl.SharedGroup()).URL)
	}
	run("start 2", "heal 3", "lag 250ms", "lag 0", "skew 3 -1h", "skew 3 0s")
	for _, line := range []string{"stop", "stop 4", "stop x", "lead 1 99", "lead 1 x", "lag", "lag soon", "lag -1s", "reboot 1", "skew 3", "skew 3 soon", "skew 9 1s"} {
		if _, err := clusterCommand(cl, line); err == nil {
			t.Errorf("%q: accepted", line)
		}
	}
	if msg, _ := clusterCommand(cl, "stop x"); strings.Contains(msg, "done") {
		t.Errorf("a refused command reported success: %q", msg)
	}
}
