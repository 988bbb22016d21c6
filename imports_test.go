package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportGraph keeps data flowing one way (client → session → ui): each
// package may depend only on the project packages listed for it.
func TestImportGraph(t *testing.T) {
	const mod = "github.com/kalamdash/kalamdash"
	forbidden := map[string][]string{
		"client":                       {"session", "ui", "theme", "kalamtest", "charm.land/", "github.com/charmbracelet/"},
		"kalamtest":                    {"session", "ui", "theme", "testing", "charm.land/"},
		"kalamtest/internal/sqlengine": {"session", "ui", "theme", "testing", "charm.land/"},
		"client/tokensource":           {"session", "ui", "theme", "kalamtest", "charm.land/", "github.com/charmbracelet/"},
		"recording":                    {"session", "ui", "theme", "charm.land/", "github.com/charmbracelet/"},
		"session":                      {"ui", "theme", "kalamtest", "charm.land/", "github.com/charmbracelet/"},
		"theme":                        {"client", "session", "ui"},
		"ui":                           {"client"},
	}
	for pkg, bad := range forbidden {
		out, err := exec.Command("go", "list", "-deps", "./"+pkg).CombinedOutput()
		if err != nil {
			if strings.Contains(string(out), "no Go files") || strings.Contains(string(out), "cannot find") || strings.Contains(string(out), "directory not found") {
				continue // package not written yet
			}
			t.Fatalf("go list -deps ./%s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, b := range bad {
				full := b
				if !strings.Contains(b, ".") && b != "testing" {
					full = mod + "/" + b
				}
				if dep == full || (strings.HasSuffix(full, "/") && strings.HasPrefix(dep, full)) {
					t.Errorf("%s must not import %s", pkg, dep)
				}
			}
		}
	}
}
