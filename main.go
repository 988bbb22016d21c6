// Command kalamdash is a terminal dashboard for live KalamDB connections:
// interactive connection debugging, raw frame inspection and manual token
// rotation testing. With no arguments it opens the dashboard on an embedded
// KalamDB-compatible demo server.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// version is the tool version, stamped into recordings and logs.
var version = "0.1.0-dev"

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "kalamdash:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "kalamdash",
		Short:         "A terminal dashboard for live KalamDB connections",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "kalamdash: the dashboard is coming; run `kalamdash serve --demo` for the KalamDB-compatible server.")
			return nil
		},
	}
	root.AddCommand(newServeCmd())
	return root
}
