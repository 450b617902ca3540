package conformance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rustynet/rustynet/internal/vmtest"
)

// envReportDir, when set, is where TestWgkernelInVM writes the JSON report
// it gets back from the guest (scripts/conformance.sh sets it).
const envReportDir = "CONFORMANCE_OUT"

// TestWgkernelInVM runs the conformance command line against the wgkernel
// backend inside a VM whose kernel has WireGuard (this host's has not), with
// every instance in a network namespace of its own: the whole backend suite,
// traffic between two kernel interfaces included, and interop with the
// netstack backend. The programs are built statically; the guest has
// nothing but busybox.
func TestWgkernelInVM(t *testing.T) {
	if reason, ok := vmtest.Available(); !ok {
		if vmtest.Required() {
			t.Fatalf("VM tests cannot run: %s", reason)
		}
		t.Skip(reason)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 25*time.Minute)
	defer cancel()
	dir := t.TempDir()
	cli := filepath.Join(dir, "rustynet-conformance")
	plugin := filepath.Join(dir, "rustynet-backend-wgkernel")
	reference := filepath.Join(dir, "rustynet-backend-netstack")
	for pkg, out := range map[string]string{
		"./conformance/cmd/rustynet-conformance":                   cli,
		"./plugins/backend-wgkernel/cmd/rustynet-backend-wgkernel": plugin,
		"./plugins/backend-netstack/cmd/rustynet-backend-netstack": reference,
	} {
		if err := vmtest.BuildStatic(ctx, "..", pkg, out); err != nil {
			t.Fatal(err)
		}
	}
	const guestPlugin, guestReference = "/bin/rustynet-backend-wgkernel", "/bin/rustynet-backend-netstack"
	res, err := vmtest.Run(ctx, vmtest.Config{
		Program: cli,
		Args: []string{"--plugin", guestPlugin, "--kind", "backend", "--netns", "--reference", guestReference,
			"--format", "json", "--timeout", "5m"},
		Files:   []vmtest.File{{Path: guestPlugin, Source: plugin}, {Path: guestReference, Source: reference}},
		Modules: vmtest.NetworkModules,
		Memory:  "1G",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("VM: boot %v, suite %v", res.Boot.Round(time.Millisecond), res.Run.Round(time.Millisecond))
	report, progress := splitReport(res.Output)
	t.Logf("guest progress:\n%s", progress)
	var rep jsonReport
	if err := json.Unmarshal(report, &rep); err != nil {
		t.Fatalf("exit status %d; no JSON report in the guest's output (%v):\n%s", res.ExitCode, err, res.Output)
	}
	if out := os.Getenv(envReportDir); out != "" {
		if err := os.WriteFile(filepath.Join(out, "backend-wgkernel.json"), report, 0o644); err != nil {
			t.Error(err)
		}
	}
	if rep.Info.Name != "wgkernel" {
		t.Errorf("report of plugin %q, want wgkernel", rep.Info.Name)
	}
	for _, c := range rep.Cases {
		switch {
		case c.Status == "fail" && c.Level == "must":
			t.Errorf("%s: %s", c.ID, c.Message)
		case c.Status == "skip" && !capabilitySkip.MatchString(c.Message):
			// Inside the VM nothing is missing but what the plugin does
			// not advertise.
			t.Errorf("%s skipped in the guest: %s", c.ID, c.Message)
		}
	}
	if res.ExitCode != 0 {
		t.Errorf("the suite exited with status %d in the guest, want 0", res.ExitCode)
	}
}

// capabilitySkip matches the reason of a case skipped only because the
// plugin does not advertise a capability it needs.
var capabilitySkip = regexp.MustCompile(`^needs backend capabilities [a-z, -]+, which the plugin does not advertise$`)

// splitReport separates the JSON report (from its first line "{" to its
// last line "}") from the progress lines around it in the guest's output.
func splitReport(out []byte) (report, progress []byte) {
	start := bytes.Index(out, []byte("\n{\n"))
	if bytes.HasPrefix(out, []byte("{\n")) {
		start = -1
	} else if start < 0 {
		return nil, out
	}
	end := bytes.LastIndex(out, []byte("\n}\n"))
	if end < start+1 {
		return nil, out
	}
	report = out[start+1 : end+2]
	progress = append(append([]byte(nil), out[:start+1]...), out[end+3:]...)
	return report, []byte(strings.TrimSpace(string(progress)))
}
