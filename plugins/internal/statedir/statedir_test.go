package statedir

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
)

func TestOpenArguments(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, dir string
	}{
		{"empty", ""},
		{"relative", "state"},
		{"dot relative", "./state"},
		{"a file", file},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Open(tc.dir, "", Exclusive)
			if got := hostapi.CodeOf(err); got != hostapi.CodeInvalidArgument {
				d.Close()
				t.Errorf("Open(%q): got %v (%v), want INVALID_ARGUMENT", tc.dir, got, err)
			}
		})
	}
}

func TestLock(t *testing.T) {
	if !Capabilities.Has(hostapi.StoreCapLock) {
		t.Skip("no inter-process lock on this platform")
	}
	dir := filepath.Join(t.TempDir(), "state")
	first, err := Open(dir, "", Exclusive)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { first.Close() })
	if d, err := Open(dir, "", Exclusive); hostapi.CodeOf(err) != hostapi.CodeLocked {
		d.Close()
		t.Fatalf("second Open: got %v, want LOCKED", err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("second Close: got %v, want nil (idempotent)", err)
	}
	second, err := Open(filepath.Join(dir, "..", "state"), "", Exclusive)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	if got := second.Path(); got != dir {
		t.Errorf("Path: got %q, want the cleaned %q", got, dir)
	}
	second.Close()
}
