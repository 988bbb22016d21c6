package kalamtest

// MarkShuttingDown sets the shutdown flag without closing anything, so a
// test can observe the 503 upgrade answer without racing the listener.
func (s *Server) MarkShuttingDown() { s.shutting.Store(true) }
