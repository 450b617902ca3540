package vmtesting

import (
	"context"
	"flag"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rustynet/rustynet/internal/vmtest"
)

// Options adjust the guest of RunTest.
type Options struct {
	// Modules are the kernel modules to load; nil means
	// vmtest.DefaultModules.
	Modules []string
	// Files are copied into the guest.
	Files []vmtest.File
	// Env is added to the guest test's environment, KEY=VALUE.
	Env []string
	// Tools are host commands (found in PATH) put at /bin/NAME in the
	// guest with their interpreter and libraries (vmtest.HostTool), for
	// tests that drive standard tools such as wg or iproute2's ip. A
	// missing tool skips the test, like a missing QEMU.
	Tools []string
	// Memory is the guest's RAM in QEMU's syntax; empty means
	// vmtest.Config's default.
	Memory string
}

// Require skips t, with the reason, if this host cannot run VMs; under CI
// (see vmtest.Required) it fails t instead.
func Require(t testing.TB) {
	t.Helper()
	reason, ok := vmtest.Available()
	if ok {
		return
	}
	if vmtest.Required() {
		t.Fatalf("VM tests cannot run: %s", reason)
	}
	t.Skip(reason)
}

// RunTest runs the calling top-level test inside a VM. In the guest it
// returns true and the caller goes on with the test body. On the host it
// runs the test in a VM, reports the result on t and returns false. It
// must be called from a top-level test, not a subtest.
func RunTest(t *testing.T, opts Options) bool {
	t.Helper()
	if InGuest() {
		return true
	}
	if strings.Contains(t.Name(), "/") {
		t.Fatalf("vmtesting.RunTest called from subtest %s; call it from the top-level test", t.Name())
	}
	if testing.Short() {
		t.Skip("-short: no VM boot (scripts/test.sh runs every VM test)")
	}
	Require(t)
	var tools []vmtest.File
	for _, name := range opts.Tools {
		f, err := vmtest.HostTool(name)
		if err != nil {
			if vmtest.Required() {
				t.Fatalf("VM tests cannot run: %v", err)
			}
			t.Skip(err)
		}
		tools = append(tools, f)
	}
	ctx := testContext(t)

	bin, err := testBinary(ctx, t)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{
		"-test.run", guestRunPattern(t.Name(), flagValue("test.run")),
		"-test.v", "-test.count=1",
	}
	if d, ok := ctx.Deadline(); ok {
		args = append(args, "-test.timeout", time.Until(d).Round(time.Second).String())
	}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	res, err := vmtest.Run(ctx, vmtest.Config{
		Program:      bin,
		Args:         args,
		Env:          append([]string{guestEnv + "=1"}, opts.Env...),
		Files:        opts.Files,
		HostPrograms: tools,
		Modules:      opts.Modules,
		Memory:       opts.Memory,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("VM: boot %v (guest kernel up %v), test ran %v", res.Boot.Round(time.Millisecond),
		res.GuestBoot.Round(time.Millisecond), res.Run.Round(time.Millisecond))
	t.Logf("guest output:\n%s", res.Output)
	if res.ExitCode != 0 {
		t.Fatalf("the guest's test run exited with status %d; console ends:\n%s", res.ExitCode, consoleTail(res.Console))
	}
	if reason, ok := skipped(res.Output, t.Name()); ok {
		t.Skipf("skipped in the guest: %s", reason)
	}
	if !strings.Contains(string(res.Output), "--- PASS: "+t.Name()+" ") {
		t.Fatalf("the guest's output does not show %s passing", t.Name())
	}
	return false
}

// testContext returns a context that ends shortly before the test's
// deadline, leaving time to report.
func testContext(t *testing.T) context.Context {
	timeout := 20 * time.Minute
	if d, ok := t.Deadline(); ok {
		timeout = time.Until(d) * 9 / 10
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx
}

// testBinary builds the package under test as a static test binary in
// the test's temporary directory. `go test` runs a test binary in its
// package's directory, so "." is the package.
func testBinary(ctx context.Context, t *testing.T) (string, error) {
	out := filepath.Join(t.TempDir(), "guest.test")
	if err := vmtest.BuildTestBinary(ctx, "", ".", out); err != nil {
		return "", err
	}
	return out, nil
}

// guestRunPattern returns the -test.run pattern for the guest: exactly the
// top-level test name, followed by the subtest part of the host's pattern.
func guestRunPattern(name, hostPattern string) string {
	p := "^" + regexp.QuoteMeta(name) + "$"
	if _, sub, ok := strings.Cut(hostPattern, "/"); ok {
		p += "/" + sub
	}
	return p
}

// flagValue returns the value of a registered flag, or "".
func flagValue(name string) string {
	if f := flag.Lookup(name); f != nil {
		return f.Value.String()
	}
	return ""
}

// skipped reports whether the guest's -test.v output shows name skipped,
// and the lines it logged.
func skipped(output []byte, name string) (string, bool) {
	marker := "--- SKIP: " + name + " "
	i := strings.Index(string(output), marker)
	if i < 0 {
		return "", false
	}
	rest := string(output[i+len(marker):])
	if j := strings.Index(rest, "\n=== "); j >= 0 {
		rest = rest[:j]
	}
	return strings.TrimSpace(rest), true
}

func consoleTail(b []byte) string {
	const max = 3000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}
