package main

import (
	"os/exec"
	"slices"
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
		"internal/safetext":            {"charm.land/", "github.com/charmbracelet/"},
	}
	// onlyProject lists packages whose project imports are limited to the
	// ones named: the ui sees the world through its Backend and renders
	// outside text through the sanitiser; the sanitiser is a leaf that the
	// ui and the headless commands share.
	onlyProject := map[string][]string{
		"ui":                {"theme", "internal/safetext"},
		"internal/safetext": {},
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
			if ok, limited := onlyProject[pkg]; limited && strings.HasPrefix(dep, mod+"/") && dep != mod+"/"+pkg {
				if !slices.Contains(ok, strings.TrimPrefix(dep, mod+"/")) {
					t.Errorf("%s must not import %s (it may import only %v of the project)", pkg, dep, ok)
				}
			}
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
