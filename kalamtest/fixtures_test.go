package kalamtest_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kalamdash/kalamdash/internal/fixtures"
)

// checkFixture compares produced JSON with a fixture file.
func checkFixture(t testing.TB, name string, got []byte) {
	t.Helper()
	fix := fixtures.Load(t, name)
	g := fixtures.Decode(t, got)
	if d := fixtures.ShapeDiffs("$", fix, g); len(d) > 0 {
		t.Errorf("%s differs in shape:\n  %s\nserver sent: %s", name, strings.Join(d, "\n  "), got)
	}
}

// checkFixtureExact compares produced JSON with a fixture for equality
// (for messages whose every value is fixed by the protocol).
func checkFixtureExact(t testing.TB, name string, got []byte) {
	t.Helper()
	fix, _ := json.Marshal(fixtures.Load(t, name))
	g, _ := json.Marshal(fixtures.Decode(t, got))
	if !bytes.Equal(fix, g) {
		t.Errorf("%s differs:\n fixture: %s\n server:  %s", name, fix, g)
	}
}

// mustRead returns a fixture's bytes as stored.
func mustRead(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures.Dir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
