// Package session is kalamdash's policy layer over package client: the
// token lifecycle (decoded claims, phases against the server's 60 s leeway,
// "socket outlived its token"), refresh policies with a rotation history
// and backoff, the connection state machine fed by client events, traffic
// stats, live subscription tables, a bounded and indexed frame log,
// connection profiles, and one coalesced event stream for the UI.
//
// It holds the decisions the dashboard shows, so every command makes them
// the same way: the default refresh policy and the one policy grammar
// (DefaultRefreshPolicy, ParseRefreshPolicy) of profiles, flags and the
// palette; how the environment, flags and the login form override a
// profile (ProfilesFile.Resolve, Profile.Override, Profile.Merge); token
// phase names, clock skew, close codes and credential wording; the auth
// provider of every auth mode (NewAuthProvider), with token-file rotations
// reported as NoticeEvents.
//
// Everything time-dependent runs on an injected Clock, so tests drive
// expiry and scheduling with a FakeClock instead of sleeping.
//
// The seam to the dashboard: package ui imports neither session nor client.
// It declares the Backend it needs in its own plain values; the adapter
// (internal/app) only translates: it fills them from this package's
// snapshots (Conn.Snapshot, FrameLog.Page) and turns the UI's frame filter
// into a Filter, the one frame matcher. Events are notices: the adapter
// re-reads snapshots rather than event payloads. Connection states are
// client.ConnState, the one vocabulary client and session share.
//
// Secrets: tokens are decoded, fingerprinted and dropped; the session
// keeps no password (it lives only inside the client's auth provider) and
// writes tokens to disk only through the opt-in TokenCache (0600).
package session
