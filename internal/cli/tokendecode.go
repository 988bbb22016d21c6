package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kalamdash/kalamdash/client/tokensource"
	"github.com/kalamdash/kalamdash/internal/safetext"
	"github.com/kalamdash/kalamdash/session"
)

// maxTokenInput bounds what token decode reads from stdin; a JWT is a few
// kilobytes.
const maxTokenInput = 1 << 20

// newTokenDecodeCmd is `kalamdash token decode`: what a JWT says, read
// without verifying its signature, for people and (with --json) scripts.
func newTokenDecodeCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "decode [TOKEN|-]",
		Short: "Show a JWT's header, claims, expiry and kind (the signature is not verified)",
		Long: `Decode a JWT and show its header, every claim (exp, iat and nbf as dates with
countdowns), its fingerprint and whether it is an access or a refresh token.

The signature is NOT verified: kalamdash has no key, so this shows what the
token claims, not whether a server will believe it.

With no argument, or "-", the token is read from stdin, which keeps it out of
the process list; a bare JWT, "Bearer <JWT>" and the JSON that token commands
and "kalamdash token mint --json" print are all accepted.`,
		Example: `  kalamdash token mint --jwt-secret s3cret --user alice | kalamdash token decode
  pbpaste | kalamdash token decode --json | jq .claims.sub`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			input, err := tokenInput(cmd, args)
			if err != nil {
				return err
			}
			tok, err := tokenFromInput(input)
			if err != nil {
				return err
			}
			ts := session.DecodeToken(tok)
			now := time.Now()
			if asJSON {
				err = writeTokenJSON(cmd.OutOrStdout(), ts, now)
			} else {
				err = writeTokenText(cmd.OutOrStdout(), ts, now)
			}
			if err == nil && !ts.Valid {
				// The description is printed; the exit status tells scripts.
				return &exitError{code: exitOther}
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object (header, claims, times, kind, problems)")
	return cmd
}

// tokenInput returns the token text from the argument or from stdin.
func tokenInput(cmd *cobra.Command, args []string) (string, error) {
	if len(args) == 1 && args[0] != "-" {
		fmt.Fprintln(cmd.ErrOrStderr(), "note: a token given as an argument shows in the process list and shell history; pipe it in instead")
		return args[0], nil
	}
	in := cmd.InOrStdin()
	if f, ok := in.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprintln(cmd.ErrOrStderr(), "paste the token, then press Enter and Ctrl-D")
		}
	}
	b, err := io.ReadAll(io.LimitReader(in, maxTokenInput+1))
	if err != nil {
		return "", fmt.Errorf("read the token from stdin: %w", err)
	}
	if len(b) > maxTokenInput {
		return "", fmt.Errorf("stdin holds more than %d bytes, more than a token can be", maxTokenInput)
	}
	return string(b), nil
}

// tokenFromInput accepts a bare JWT, "Bearer <JWT>" (a copied header) or a
// token command's JSON; anything else is decoded as it is, so a broken
// token is described rather than refused.
func tokenFromInput(input string) (string, error) {
	s := strings.TrimSpace(input)
	if s == "" {
		return "", errors.New("no token: the input is empty")
	}
	if strings.HasPrefix(s, "{") {
		t, err := tokensource.ParseToken([]byte(s))
		if err != nil {
			return "", err
		}
		return t.JWT, nil
	}
	if rest, ok := strings.CutPrefix(s, "Bearer "); ok {
		s = strings.TrimSpace(rest)
	}
	return s, nil
}

// notVerified is said with every decoded token.
const notVerified = "signature NOT verified: this shows what the token claims, not whether a server accepts it"

// timeClaims are the NumericDate claims shown as dates with countdowns.
var timeClaims = []string{"exp", "iat", "nbf"}

// writeTokenText prints ts for a person. Every name and value from the
// token goes through inert: a token is data from outside.
func writeTokenText(w io.Writer, ts session.TokenState, now time.Time) error {
	var b bytes.Buffer
	fmt.Fprintln(&b, notVerified)
	fmt.Fprintf(&b, "fingerprint  %s\n", ts.Fingerprint)
	if !ts.Valid {
		fmt.Fprintf(&b, "error        %s\n", safetext.Line(ts.DecodeError))
		_, err := w.Write(b.Bytes())
		return err
	}
	fmt.Fprintf(&b, "kind         %s\n", ts.Kind().Explain())
	fmt.Fprintf(&b, "status       %s\n", tokenStatus(ts, now))
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "header")
	for _, f := range ts.Header.All {
		fmt.Fprintf(tw, "  %s\t%s\n", inertName(f.Name), safetext.Line(f.Value))
	}
	fmt.Fprintln(tw, "claims")
	for _, f := range ts.Claims.All {
		line := safetext.Line(f.Value)
		if at := claimTime(ts.Claims, f.Name); !at.IsZero() {
			line += "\t" + at.Format("2006-01-02 15:04:05 MST") + "\t" + relative(at, now)
		}
		fmt.Fprintf(tw, "  %s\t%s\n", inertName(f.Name), line)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range ts.Problems {
		fmt.Fprintf(&b, "problem      %s\n", safetext.Line(p))
	}
	_, err := w.Write(b.Bytes())
	return err
}

// claimTime returns the parsed time of a NumericDate claim (zero for any
// other claim, or when the value was not a usable number).
func claimTime(c session.Claims, name string) time.Time {
	switch name {
	case "exp":
		return c.ExpiresAt.UTC()
	case "iat":
		return c.IssuedAt.UTC()
	case "nbf":
		return c.NotBefore.UTC()
	}
	return time.Time{}
}

// relative is "in 4m12s" or "4m12s ago", to the second.
func relative(at, now time.Time) string {
	d := at.Sub(now).Round(time.Second)
	switch {
	case d > 0:
		return "in " + d.String()
	case d < 0:
		return (-d).String() + " ago"
	}
	return "now"
}

// tokenStatus says where the token stands at now, in the server's terms.
func tokenStatus(ts session.TokenState, now time.Time) string {
	c := ts.Claims
	if !c.NotBefore.IsZero() && now.Add(session.Leeway).Before(c.NotBefore) {
		return "not valid yet (nbf " + relative(c.NotBefore, now) + "): the server refuses it until then"
	}
	switch ts.Phase(now) {
	case session.PhaseFresh, session.PhaseExpiringSoon:
		return "valid for " + c.ExpiresAt.Sub(now).Round(time.Second).String() + " (" + ts.Phase(now).String() + ")"
	case session.PhaseInLeeway:
		return "expired " + relative(c.ExpiresAt, now) + ", inside the server's 60 s leeway: still accepted"
	case session.PhaseDead:
		return "expired " + relative(c.ExpiresAt, now) + ": every server check refuses it (a live socket keeps working)"
	}
	if c.Has("exp") {
		return "exp is unusable (see the problems below): the server refuses the token"
	}
	return "no exp claim: it never expires by itself"
}

// tokenJSON is the --json shape. Header and claims are raw JSON objects
// built from the token's own members, in its order.
type tokenJSON struct {
	SignatureVerified bool                     `json:"signature_verified"`
	Valid             bool                     `json:"valid"`
	Error             string                   `json:"error,omitempty"`
	Fingerprint       string                   `json:"fingerprint"`
	Kind              string                   `json:"kind"`
	Status            string                   `json:"status,omitempty"`
	Header            json.RawMessage          `json:"header,omitempty"`
	Claims            json.RawMessage          `json:"claims,omitempty"`
	Times             map[string]tokenTimeJSON `json:"times,omitempty"`
	Problems          []string                 `json:"problems,omitempty"`
}

// tokenTimeJSON is one NumericDate claim read as a time.
type tokenTimeJSON struct {
	UTC     string `json:"utc"`
	Seconds int64  `json:"seconds_from_now"` // negative in the past
}

func writeTokenJSON(w io.Writer, ts session.TokenState, now time.Time) error {
	out := tokenJSON{Valid: ts.Valid, Error: ts.DecodeError, Fingerprint: ts.Fingerprint,
		Kind: ts.Kind().String(), Problems: ts.Problems}
	if ts.Valid {
		out.Status = tokenStatus(ts, now)
		out.Header, out.Claims = session.FieldsJSON(ts.Header.All), session.FieldsJSON(ts.Claims.All)
		out.Times = map[string]tokenTimeJSON{}
		for _, name := range timeClaims {
			if at := claimTime(ts.Claims, name); !at.IsZero() {
				out.Times[name] = tokenTimeJSON{UTC: at.Format(time.RFC3339), Seconds: int64(at.Sub(now).Round(time.Second) / time.Second)}
			}
		}
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, safetext.JSON(string(b)))
	return err
}
