// Package app is the seam between the dashboard and the engine: thin
// adapters from package session (and package recording) to the interfaces
// package ui declares. Backend serves live connections through a
// session.Manager, RecordingBackend serves a recording offline, and
// FrameSource pages a session.FrameLog for the inspector of both (and of
// the benchmarks). Decisions stay in session; the adapters only translate
// values and words.
package app

// Version is the tool version, stamped into recordings, exports and logs.
var Version = "0.1.0-dev"
