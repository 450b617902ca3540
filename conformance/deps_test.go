package conformance_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestNoTestingImported checks that no package of this module that the
// engine or the command line depends on imports package testing: the Go
// front end names no testing type. (go-plugin itself imports testing, for
// its own test helpers, so every binary built on hostapi links it; that is
// outside this module's control.)
func TestNoTestingImported(t *testing.T) {
	const module = "github.com/rustynet/rustynet/"
	for _, pkg := range []string{".", "./cmd/rustynet-conformance"} {
		out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		checked := 0
		for line := range strings.Lines(string(out)) {
			fields := strings.Fields(line)
			if len(fields) == 0 || !strings.HasPrefix(fields[0], module) {
				continue
			}
			checked++
			if slices.Contains(fields[1:], "testing") {
				t.Errorf("%s (a dependency of %s) imports testing", fields[0], pkg)
			}
		}
		if checked < 2 {
			t.Errorf("go list -deps %s: found %d packages of this module, want the suite and hostapi at least", pkg, checked)
		}
	}
}
