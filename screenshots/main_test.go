package screenshots_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a render leaves a goroutine behind (the
// emulator's reply drain must always end).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
