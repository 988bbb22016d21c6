// Package bench measures kalamdash against the limits of the machine it
// runs on (issues 7 and 16): the reader's CPU per event and highest
// lossless rate on a firehose served by `kalamdash serve --firehose` in
// its own process (Firehose) — the dashboard pipeline next to a bare
// coder/websocket read loop and `kalamdash record` on the same stream —,
// the floor of what the pipeline must do per event beyond the bare reader
// (FirehoseFloor, the budget the CPU target is judged against),
// renders of a real tea.Program under a stream, frame decoding, and the
// login handshake. (The in-process kalamtest and replay sources of issue 7
// remain for BenchmarkStream and BenchmarkReplay, which bench/run no
// longer runs: they measured the source as much as the reader.) The frame log and UI
// benchmarks live beside their code (session, ui); bench/run runs them
// all and prints one table (see bench/table and RESULTS.md).
//
// Nothing here asserts a time: the tests only check that the stream
// sources deliver what they promise; the numbers come from benchmarks.
package bench
