// Package bench measures kalamdash against the limits of the machine it
// runs on (issue 7): the end-to-end stream kalamtest → client → session
// frame log next to a bare coder/websocket read loop on the same stream,
// frame decoding, and the login handshake. The frame log and UI
// benchmarks live beside their code (session, ui); bench/run runs them
// all and prints one table (see bench/table and RESULTS.md).
//
// Nothing here asserts a time: the tests only check that the stream
// sources deliver what they promise; the numbers come from benchmarks.
package bench
