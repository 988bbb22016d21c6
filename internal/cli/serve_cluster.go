package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kalamdash/kalamdash/kalamtest"
)

// maxClusterNodes bounds --cluster: each node is a listener and a few
// goroutines, and the ports run from --addr's upwards.
const maxClusterNodes = 9

// clusterHelp lists the fault commands `serve --cluster` reads on stdin.
const clusterHelp = `faults (type one and Enter):
  stop N | start N        shut node N down (sockets close 1001, port refuses) / start it again
  lead N [GROUP]          make node N leader of GROUP (10 meta, 100-107 user shards, 200 shared; default all)
  partition N | heal N    cut node N off from its peers (it stops applying) / reconnect it
  lag DURATION            followers apply changes this long after the commit (e.g. 2s, 0)
  skew N DURATION         node N's clock is off by DURATION when it numbers (_seq) what it applies as a follower (e.g. -1h)`

// runServeCluster runs `serve --cluster N` until ctx ends, reading fault
// commands from stdin.
func runServeCluster(ctx context.Context, cmd *cobra.Command, f serveFlags, opts []kalamtest.Option) error {
	cl, err := kalamtest.NewCluster(f.cluster, opts...)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "kalamdash serve: emulated KalamDB cluster of %d nodes (replication lag %s)\n", f.cluster, f.replLag)
	for i, n := range cl.Nodes() {
		fmt.Fprintf(out, "  node %d: %s (WebSocket %s)\n", i+1, n.URL, n.WSURL())
	}
	if f.demo {
		fmt.Fprintf(out, "demo users: %s/%s (user), %s/%s (dba)\n",
			kalamtest.DemoUser, kalamtest.DemoPassword, kalamtest.DemoAdmin, kalamtest.DemoAdminPW)
	}
	fmt.Fprintln(out, clusterHelp)
	fmt.Fprintln(out, "press Ctrl-C to stop")
	go readClusterCommands(ctx, cmd.InOrStdin(), out, cl)
	<-ctx.Done()
	fmt.Fprintln(out, "shutting down: closing sockets with 1001")
	return cl.Close()
}

// readClusterCommands applies each line of in as a fault command and says
// what happened; it ends with in (or when ctx ends).
func readClusterCommands(ctx context.Context, in io.Reader, out io.Writer, cl *kalamtest.Cluster) {
	sc := bufio.NewScanner(in)
	for sc.Scan() && ctx.Err() == nil {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		msg, err := clusterCommand(cl, line)
		if err != nil {
			fmt.Fprintf(out, "%v\n%s\n", err, clusterHelp)
			continue
		}
		fmt.Fprintln(out, msg)
	}
}

// clusterCommand applies one fault command to cl.
func clusterCommand(cl *kalamtest.Cluster, line string) (string, error) {
	fields := strings.Fields(line)
	verb, args := strings.ToLower(fields[0]), fields[1:]
	if verb == "lag" {
		if len(args) != 1 {
			return "", fmt.Errorf("lag: want one duration, e.g. lag 2s")
		}
		d, err := time.ParseDuration(args[0])
		if args[0] == "0" {
			d, err = 0, nil
		}
		if err != nil || d < 0 {
			return "", fmt.Errorf("lag %q: not a duration like 500ms or 2s", args[0])
		}
		cl.SetReplicationLag(d)
		return fmt.Sprintf("replication lag is now %s", d), nil
	}
	if len(args) < 1 {
		return "", fmt.Errorf("%q: which node?", verb)
	}
	node, err := strconv.Atoi(args[0])
	if err != nil || cl.Node(node) == nil {
		return "", fmt.Errorf("%q: no node %q (nodes are 1 to %d)", verb, args[0], len(cl.Nodes()))
	}
	switch verb {
	case "skew":
		if len(args) != 2 {
			return "", fmt.Errorf("skew: want a node and a duration, e.g. skew 3 -1h")
		}
		d, perr := time.ParseDuration(args[1])
		if perr != nil {
			return "", fmt.Errorf("skew %q: not a duration like -1h or 30s", args[1])
		}
		cl.SetClockSkew(node, d)
	case "stop":
		err = cl.StopNode(node)
	case "start":
		err = cl.RestartNode(node)
	case "partition":
		err = cl.Partition(node)
	case "heal":
		err = cl.Heal(node)
	case "lead":
		if len(args) == 2 {
			group, perr := strconv.ParseInt(args[1], 10, 64)
			if perr != nil {
				return "", fmt.Errorf("lead: group %q is not a number", args[1])
			}
			err = cl.MoveLeader(group, node)
		} else {
			err = cl.MoveAllLeaders(node)
		}
	default:
		return "", fmt.Errorf("unknown command %q", verb)
	}
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s %s: done", verb, strings.Join(args, " ")), nil
}
