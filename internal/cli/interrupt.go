package cli

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// untilInterrupted is the RunE of a command that runs until it is done or
// interrupted: run's context ends on Ctrl-C (SIGINT) or SIGTERM, so the
// command can finish its file or log and return instead of being killed.
func untilInterrupted(run func(ctx context.Context, cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return run(ctx, cmd, args)
	}
}
