package testkit

import (
	"io/fs"
	"os"
	"testing"
)

// WantMode fails the test unless the file at path exists with permission
// bits want: 0600 for every file that holds credentials or a recording,
// 0700 for the directories that hold them.
func WantMode(t testing.TB, path string, want fs.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Errorf("want mode %v: %v", want, err)
		return
	}
	if got := st.Mode().Perm(); got != want {
		t.Errorf("%s has mode %v, want %v", path, got, want)
	}
}

// SetMode changes the permission bits of the file at path, failing the
// test if it cannot: how a test makes a credentials file readable by
// others to see it refused.
func SetMode(t testing.TB, path string, mode fs.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// WriteFile writes content to path with mode 0600, failing the test if it
// cannot. It writes a temporary file beside path and renames it, as a
// sidecar rotating a token does, so a reader watching path never sees
// half of the content.
func WriteFile(t testing.TB, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
