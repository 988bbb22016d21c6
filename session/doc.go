// Package session is kalamdash's policy layer over package client: the
// token lifecycle (decoded claims, phases against the server's 60 s leeway,
// "socket outlived its token"), refresh policies with a rotation history
// and backoff, the connection state machine fed by client events, traffic
// stats, live subscription tables, a bounded and indexed frame log,
// connection profiles, and one coalesced event stream for the UI.
//
// Everything time-dependent runs on an injected Clock, so tests drive
// expiry and scheduling with a FakeClock instead of sleeping. The UI reads
// plain-value snapshots (Conn.Snapshot, FrameLog.Page) and never needs
// package client: the types it shows are re-exported here as aliases.
//
// Secrets: tokens are decoded, fingerprinted and dropped; the session
// keeps no password (it lives only inside the client's auth provider) and
// writes tokens to disk only through the opt-in TokenCache (0600).
package session
