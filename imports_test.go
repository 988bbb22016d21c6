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
		"client":                       {"session", "ui", "theme", "kalamtest", "kalamtest/", "recording", "charm.land/", "github.com/charmbracelet/"},
		"kalamtest":                    {"session", "ui", "theme", "testing", "charm.land/"},
		"kalamtest/internal/sqlengine": {"session", "ui", "theme", "testing", "charm.land/"},
		"client/tokensource":           {"session", "ui", "theme", "kalamtest", "kalamtest/", "recording", "charm.land/", "github.com/charmbracelet/"},
		// recording is the file format: it must not link the emulator
		// (and its SQL engine) nor serve anything.
		"recording":        {"session", "ui", "theme", "kalamtest", "kalamtest/", "recording/replay", "charm.land/", "github.com/charmbracelet/"},
		"recording/replay": {"session", "ui", "theme", "kalamtest", "charm.land/", "github.com/charmbracelet/"},
		"kalamtest/mint":   {},
		"redact":           {},
		// The relay observes with the client's decoders and frame type;
		// what it feeds (recordings, the dashboard) is the caller's.
		"proxy":             {"session", "ui", "theme", "kalamtest", "kalamtest/", "recording", "charm.land/", "github.com/charmbracelet/"},
		"session":           {"ui", "theme", "kalamtest", "kalamtest/", "charm.land/", "github.com/charmbracelet/"},
		"theme":             {"client", "session", "ui"},
		"ui":                {"client", "session"},
		"internal/safetext": {"charm.land/", "github.com/charmbracelet/"},
		"internal/fixtures": {"client", "session", "ui", "kalamtest"},
		// The tests' shared helpers start kalamtest; only tests import them.
		"internal/testkit": {"session", "ui", "theme", "charm.land/", "github.com/charmbracelet/"},
		// The top of the graph and its tools may import any project
		// package: the program and its commands, the adapter between the
		// session and the ui, benchmarks, reliability scenarios, and the
		// README's screenshots.
		"":                      {},
		"internal/cli":          {},
		"internal/app":          {},
		"internal/vtscreen":     {},
		"bench":                 {},
		"bench/table":           {},
		"reliability":           {},
		"screenshots":           {},
		"screenshots/cmd/shoot": {},
	}
	// onlyProject lists packages whose project imports are limited to the
	// ones named: the ui sees the world through its Backend and renders
	// outside text through the sanitiser; the leaves (the sanitiser, token
	// minting) import no project package at all.
	onlyProject := map[string][]string{
		"ui":                {"theme", "internal/safetext"},
		"internal/safetext": {},
		"kalamtest/mint":    {},
		"redact":            {},
	}
	// Every package of the module has rules, so a new one (or one moved)
	// is placed in the graph on purpose, and every rule names a package
	// that exists, so a rule left behind by a move fails instead of
	// silently checking nothing.
	all, err := exec.Command("go", "list", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list ./...: %v\n%s", err, all)
	}
	for _, p := range strings.Fields(string(all)) {
		rel := strings.TrimPrefix(strings.TrimPrefix(p, mod), "/")
		if _, ok := forbidden[rel]; !ok {
			t.Errorf("package %q has no import rules: add it to forbidden in imports_test.go", rel)
		}
	}
	for pkg, bad := range forbidden {
		out, err := exec.Command("go", "list", "-deps", "./"+pkg).CombinedOutput()
		if err != nil {
			t.Errorf("go list -deps ./%s: %v (a rule for a package that does not exist?)\n%s", pkg, err, out)
			continue
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
