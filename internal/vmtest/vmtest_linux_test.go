package vmtest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// vmContext returns a context that ends before the test's deadline, with
// room to report.
func vmContext(t *testing.T) context.Context {
	t.Helper()
	timeout := 10 * time.Minute
	if d, ok := t.Deadline(); ok {
		timeout = time.Until(d) - 10*time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx
}

func requireVM(t *testing.T) {
	t.Helper()
	if reason, ok := Available(); !ok {
		if Required() {
			t.Fatalf("CI must run VM tests: %s", reason)
		}
		t.Skip(reason)
	}
}

func TestSmokeWireGuardLink(t *testing.T) {
	requireVM(t)
	ctx := vmContext(t)
	prog := filepath.Join(t.TempDir(), "wglink")
	if err := BuildStatic(ctx, "", "./testdata/wglink", prog); err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, Config{Program: prog})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("boot %v (guest kernel uptime %v), program ran %v", res.Boot, res.GuestBoot, res.Run)
	if res.ExitCode != 0 {
		t.Fatalf("exit code: got %d, want 0; output:\n%s\nconsole:\n%s", res.ExitCode, res.Output, res.Console)
	}
	if diff := cmp.Diff("wireguard\n", string(res.Output)); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

// TestSmokeHostTools puts the host's dynamically linked ip and wg into the
// guest (HostPrograms) and has them create and configure a kernel
// WireGuard link there.
func TestSmokeHostTools(t *testing.T) {
	requireVM(t)
	ctx := vmContext(t)
	var progs []File
	for _, name := range []string{"ip", "wg"} {
		f, err := HostTool(name)
		if err != nil {
			if Required() {
				t.Fatal(err)
			}
			t.Skip(err)
		}
		progs = append(progs, f)
	}
	prog := filepath.Join(t.TempDir(), "hosttools")
	if err := BuildStatic(ctx, "", "./testdata/hosttools", prog); err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, Config{Program: prog, HostPrograms: progs})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("boot %v (guest kernel uptime %v), program ran %v", res.Boot, res.GuestBoot, res.Run)
	if res.ExitCode != 0 {
		t.Fatalf("exit code: got %d, want 0; output:\n%s\nconsole:\n%s", res.ExitCode, res.Output, res.Console)
	}
	if diff := cmp.Diff("51999\n", string(res.Output)); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}
