package cli

import (
	"errors"
	"fmt"
)

// Exit codes of the commands (documented in their help and the README).
const (
	exitOK          = 0
	exitOther       = 1
	exitAuth        = 2
	exitUnreachable = 3
)

// exitError carries the exit code a command chose up to Main, which prints
// err (when set) and exits with code; commands never exit themselves.
type exitError struct {
	code int
	err  error // nil: the command printed why
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// exitCode returns the exit code for err (0 for nil, 1 unless it says
// otherwise).
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitOther
}
