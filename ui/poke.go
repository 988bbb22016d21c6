package ui

import (
	"context"
	"time"
)

// This file declares the hands-on testing capabilities a live connection
// may offer beyond those of backend.go: sending hand-written frames and
// swapping its token. Like the other optional interfaces, the UI asks for
// them with a type assertion and says so when a connection lacks them (a
// recording has neither).

// Composer sends hand-written text frames on a connection's live socket.
type Composer interface {
	// SendText sends text, valid or not, as one text frame; the frame log
	// shows it with Frame.Composed set. It fails when no socket is up.
	SendText(ctx context.Context, text string) error
}

// TokenSwapper puts a token of the user's choice in place of the auth
// provider's answer, for seeing what the server does with it.
type TokenSwapper interface {
	// SwapToken makes token the credentials for HTTP calls and the next
	// connection attempt (once) or every attempt until ClearSwap; with
	// reconnect, the socket is dropped and redialled at once, and the
	// call returns the reconnect's error, if any.
	SwapToken(ctx context.Context, token string, once, reconnect bool) error
	// ClearSwap ends the swap: the provider's credentials are back.
	ClearSwap(ctx context.Context) error
	// DecodeToken shows what a token says, without verifying it.
	DecodeToken(token string) DecodedToken
	// SwapCandidates offers tokens worth trying: an expired copy of the
	// current token, garbage, and on the demo server fresh tokens for
	// other users.
	SwapCandidates() []SwapCandidate
}

// DecodedToken is what a JWT says, read without verifying its signature.
// Every string comes from the token: it is untrusted text.
type DecodedToken struct {
	Valid       bool   // three parts, JSON header and payload
	Error       string // why it does not decode, when !Valid
	Fingerprint string
	Kind        string // access, refresh, untyped, unknown type, not a JWT
	KindNote    string // what KalamDB does with a token of that kind
	Header      []TokenField
	Claims      []TokenField // every claim in the token's order
	Subject     string
	IssuedAt    time.Time // zero when absent
	ExpiresAt   time.Time
	NotBefore   time.Time
	Problems    []string // claims of the wrong type, duplicates
}

// TokenField is one header parameter or claim, its value as JSON text.
type TokenField struct{ Name, Value string }

// SwapCandidate is a token offered for a swap.
type SwapCandidate struct {
	Label string // what it is, e.g. "expired copy of the current token"
	Token string // a secret: shown only decoded
}

// TokenSwapInfo describes a connection's active token swap (Token.Swap).
type TokenSwapInfo struct {
	Fingerprint string
	Kind        string // access, refresh, …, not a JWT
	Subject     string
	ExpiresAt   time.Time
	Once        bool // ends after one connection attempt
	Since       time.Time
}
