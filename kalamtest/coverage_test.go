package kalamtest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kalamdash/kalamdash/internal/fixtures"
)

// notProduced lists fixtures this server deliberately does not reproduce,
// with the reason; every other fixture must be checked by some test here.
var notProduced = map[string]string{
	"ws-server-change-insert-upstream-test.json": "an upstream unit test builds the cell as a number, bypassing the Int64→string rule the real server applies",
}

// Every fixture in shared/fixtures/kalamdb is compared with server output
// by a test in this package (guards against a new fixture going unchecked).
func TestEveryFixtureIsChecked(t *testing.T) {
	dir := fixtures.Dir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in %s: %v", dir, err)
	}
	srcs, _ := filepath.Glob("*_test.go")
	var all strings.Builder
	for _, f := range srcs {
		if f == "coverage_test.go" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	for _, f := range files {
		name := filepath.Base(f)
		if _, skip := notProduced[name]; skip {
			continue
		}
		if !strings.Contains(all.String(), `"`+name+`"`) {
			t.Errorf("fixture %s is not checked by any test", name)
		}
	}
}
