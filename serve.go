package main

import "github.com/spf13/cobra"

// newServeCmd runs client/kalamtest standalone until Ctrl-C.
func newServeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the KalamDB-compatible test server",
		RunE: func(cmd *cobra.Command, args []string) error {
			return nil
		},
	}
}
