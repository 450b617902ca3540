package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestVulncheckGate runs scripts/vulncheck.sh with a stand-in for
// govulncheck: a called vulnerability fails the run, an unreachable
// database is said plainly and passes unless a release requires the check,
// and any other failure of the tool fails the run.
func TestVulncheckGate(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs the gate script")
	}
	tests := []struct {
		name    string
		exit    int
		output  string
		require bool
		wantRC  int
		want    string
	}{
		{"no vulnerability", 0, "No vulnerabilities found.", false, 0, "no vulnerability in called code"},
		{"a called vulnerability", 3, "Vulnerability #1: GO-2099-0001", false, 1, "rustynet calls vulnerable code"},
		{"the database unreachable", 1, `govulncheck: fetching vulnerabilities: Get "https://vuln.go.dev/index/modules.json.gz": no such host`, false, 0, "NOT CHECKED"},
		{"the database unreachable, required", 1, "govulncheck: fetching vulnerabilities: no such host", true, 1, "could not be checked: failing"},
		{"the code does not load", 1, "govulncheck: loading packages: some error", false, 1, "could not analyse the code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			fake := filepath.Join(dir, "govulncheck")
			script := "#!/bin/sh\necho '" + tt.output + "'\nexit " + string(rune('0'+tt.exit)) + "\n"
			if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("bash", "../vulncheck.sh")
			cmd.Env = append(os.Environ(), "GOVULNCHECK="+fake, "VULNCHECK_REPORTS="+filepath.Join(dir, "reports"), "RUSTYNET_REQUIRE_VULNCHECK=")
			if tt.require {
				cmd.Env = append(cmd.Env, "RUSTYNET_REQUIRE_VULNCHECK=1")
			}
			out, err := cmd.CombinedOutput()
			rc := 0
			if ee, ok := err.(*exec.ExitError); ok {
				rc = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if rc != tt.wantRC || !strings.Contains(string(out), tt.want) {
				t.Errorf("exit %d, want %d; output should contain %q:\n%s", rc, tt.wantRC, tt.want, out)
			}
		})
	}
}
