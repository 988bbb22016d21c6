package kalamtest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/kalamdash/kalamdash/internal/fixtures"
)

// sameShape reports every structural difference between a fixture and
// what the server produced: same keys (omitted vs null matters), same
// value kinds, recursively. Arrays compare each produced element against
// the fixture's element at the same index (or its last one). A float fixture accepts an integer answer
// (took can be whole), nothing else is lenient.
func sameShape(fix, got any) []string {
	var diffs []string
	var walk func(path string, f, g any)
	walk = func(path string, f, g any) {
		fk, gk := fixtures.Kind(f), fixtures.Kind(g)
		if fk != gk && !(fk == "float" && gk == "integer") {
			diffs = append(diffs, fmt.Sprintf("%s: fixture has %s, server sent %s", path, fk, gk))
			return
		}
		switch fv := f.(type) {
		case map[string]any:
			gv := g.(map[string]any)
			keys := map[string]bool{}
			for k := range fv {
				keys[k] = true
			}
			for k := range gv {
				keys[k] = true
			}
			sorted := make([]string, 0, len(keys))
			for k := range keys {
				sorted = append(sorted, k)
			}
			sort.Strings(sorted)
			for _, k := range sorted {
				fe, fok := fv[k]
				ge, gok := gv[k]
				switch {
				case !fok:
					diffs = append(diffs, fmt.Sprintf("%s.%s: server sent a key the fixture lacks", path, k))
				case !gok:
					diffs = append(diffs, fmt.Sprintf("%s.%s: server omitted a key the fixture has", path, k))
				default:
					walk(path+"."+k, fe, ge)
				}
			}
		case []any:
			gv := g.([]any)
			if len(fv) == 0 {
				return
			}
			for i, ge := range gv {
				walk(fmt.Sprintf("%s[%d]", path, i), fv[min(i, len(fv)-1)], ge)
			}
		}
	}
	walk("$", fix, got)
	return diffs
}

// checkFixture compares produced JSON with a fixture file.
func checkFixture(t testing.TB, name string, got []byte) {
	t.Helper()
	fix := fixtures.Load(t, name)
	g := fixtures.Decode(t, got)
	if d := sameShape(fix, g); len(d) > 0 {
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

func TestSameShapeCatchesDifferences(t *testing.T) {
	fix := fixtures.Decode(t, []byte(`{"a":1,"b":null,"c":"x","d":[{"e":true}]}`))
	cases := map[string]string{
		`{"a":1,"b":null,"c":"x","d":[{"e":true}]}`:       "",
		`{"a":1,"c":"x","d":[{"e":true}]}`:                "omitted",
		`{"a":1,"b":null,"c":"x","d":[{"e":true}],"z":1}`: "lacks",
		`{"a":"1","b":null,"c":"x","d":[{"e":true}]}`:     "fixture has integer",
		`{"a":1.5,"b":null,"c":"x","d":[{"e":true}]}`:     "fixture has integer",
		`{"a":1,"b":null,"c":"x","d":[{"e":1}]}`:          "fixture has bool",
	}
	for in, want := range cases {
		d := strings.Join(sameShape(fix, fixtures.Decode(t, []byte(in))), ";")
		if want == "" && d != "" || want != "" && !strings.Contains(d, want) {
			t.Errorf("%s: diffs %q, want %q", in, d, want)
		}
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
