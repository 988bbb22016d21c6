package bench

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	cleanBuiltBin() // the source binary built for the firehose benchmarks
	os.Exit(code)
}
