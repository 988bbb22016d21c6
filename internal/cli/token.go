package cli

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/kalamdash/kalamdash/kalamtest/mint"
)

// newTokenCmd groups token utilities. `token mint` signs KalamDB-shaped
// access tokens with a known secret, so a token command or a token file
// can be exercised against `kalamdash serve --jwt-secret` without an
// identity provider.
func newTokenCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Token utilities for rotation testing"}
	var (
		secret, user, role string
		ttl                time.Duration
		asJSON             bool
	)
	mint := &cobra.Command{
		Use:   "mint",
		Short: "Print an access token signed with --jwt-secret (for kalamdash serve)",
		Example: `  kalamdash serve --jwt-secret s3cret --user alice:pw &
  kalamdash token mint --jwt-secret s3cret --user alice --ttl 2m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if secret == "" {
				secret = os.Getenv("KALAMDB_JWT_SECRET")
			}
			now := time.Now()
			tok, err := mint.Token(secret, user, role, ttl, now)
			if err != nil {
				return err
			}
			if asJSON {
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "{\"access_token\":%q,\"expires_at\":%q}\n", tok, now.Add(ttl).UTC().Format(time.RFC3339))
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), tok)
			return err
		},
	}
	mint.Flags().StringVar(&secret, "jwt-secret", "", "HS256 secret of the server (default $KALAMDB_JWT_SECRET)")
	mint.Flags().StringVar(&user, "user", "", "user id (sub claim); must exist on the server")
	mint.Flags().StringVar(&role, "role", "user", "role claim; must match the user's role on the server")
	mint.Flags().DurationVar(&ttl, "ttl", 5*time.Minute, "token lifetime")
	mint.Flags().BoolVar(&asJSON, "json", false, `print {"access_token","expires_at"} instead of the bare JWT`)
	_ = mint.MarkFlagRequired("user")
	cmd.AddCommand(mint, newTokenDecodeCmd())
	return cmd
}
