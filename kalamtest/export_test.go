package kalamtest

// MarkShuttingDown sets the shutdown flag without closing anything, so a
// test can observe the 503 upgrade answer without racing the listener.
func (s *Server) MarkShuttingDown() { s.shutting.Store(true) }

// FilePlaceholders exposes the FILE("name") scan for its table test.
func FilePlaceholders(sql string) []string { return filePlaceholders(sql) }

// Encodes is the count of change frames the fan-outs serialized.
func (s *Server) Encodes() uint64 { return s.encodes.Load() }
