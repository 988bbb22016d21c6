// Package client is a Go client for KalamDB that also shows its work:
// every WebSocket frame and HTTP exchange is available, redacted, on a
// bounded tap.
//
// It mirrors the official SDKs' model (the Dart SDK's in particular):
//
//   - Credentials come from an AuthProvider returning Basic, JWT or none.
//     The provider is called before every WebSocket connection attempt —
//     the first connect and every reconnect, unlike the Rust core which
//     caches the first JWT — plus on RefreshAuth and after a TOKEN_EXPIRED
//     query. Basic is exchanged for a JWT via /v1/api/auth/login before use.
//   - RefreshAuth re-runs the provider, coalescing concurrent calls, and
//     swaps the credentials for HTTP and the next (re)connect. The live
//     socket is not re-authenticated: KalamDB checks a socket's token only
//     once, so it keeps working after the token expires.
//   - One socket multiplexes every Subscription. Initial data is paged with
//     next_batch automatically; after a reconnect each live subscription is
//     re-sent with options.from = the highest _seq delivered, and replayed
//     rows are dropped, so consumers see each row once.
//   - Keepalive sends a WebSocket Ping and a {"type":"ping"} message every
//     interval (9 s), timed from the previous send as the official client
//     does, so the server hears from an idle socket within its 10 s limit
//     whatever the round trip; silence after a Ping means a dead socket and
//     a reconnect with capped, jittered exponential backoff.
//
// Values keep KalamDB's JSON encoding: BIGINT and _seq arrive as strings,
// other numbers as json.Number (MessagePack integers are normalised to the
// same JSON), so nothing passes through float64.
//
// # Goroutines and channels
//
// Connect starts a supervisor goroutine; each socket has a read loop and a
// keepalive loop; each subscription has a pump goroutine. Client.Events
// and Client.Frames are bounded and never block those goroutines: when
// full, items are dropped and counted (Stats.EventDrops, TapDrops).
// Subscription.Events is fed from an unbounded queue, so no row is ever
// dropped for a slow consumer. Close stops every goroutine before it
// returns and closes all channels.
//
// # Frame tap
//
// Frames returns every WebSocket frame (text, binary, ping, pong, close)
// with its wire bytes and its decoded JSON (gzip inflated, MessagePack
// converted), plus every HTTP exchange as two frames of opcode OpHTTP: the
// request (request line, headers, body) and the response (status line,
// headers, body, Status, Duration). The WebSocket upgrade is tapped the
// same way. The values package redact names as secret (token and password
// fields, Authorization and cookie headers) are replaced by redact.Marker
// in the tapped copies unless WithRevealSecrets(true); the protocol itself
// is never affected. RedactFrame redacts a frame tapped in clear.
//
// # Errors
//
// Every error is an *Error with a Kind; predicates (IsAuthError,
// IsTokenExpired, IsUnreachable, IsTLS, IsNotKalamDB) classify it and Hint
// suggests what to try next. Messages never contain secrets.
package client
