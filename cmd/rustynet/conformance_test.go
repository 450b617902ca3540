package main

import (
	"strings"
	"testing"
)

// TestConformanceCertifiesOwnPlugins runs `rustynet conformance` against
// the same binary's built-in plugins (`rustynet plugin NAME`), as
// scripts/conformance.sh does. The process cases re-execute the suite's
// binary as a helper host; when the plugin is that same binary, it must not
// inherit the helper's role.
func TestConformanceCertifiesOwnPlugins(t *testing.T) {
	if testing.Short() {
		t.Skip("launches plugin processes; skipped with -short")
	}
	bin := builtBinary(t)
	u := &userShell{t: t, bin: bin, dir: t.TempDir()}
	for _, c := range []struct{ plugin, kind string }{
		{"store-file", "store"},
		{"backend-netstack", "backend"},
	} {
		t.Run(c.plugin, func(t *testing.T) {
			u.t = t
			r := u.run("conformance", "--plugin", bin, "--args", "plugin "+c.plugin, "--kind", c.kind,
				"--run", `^process\.(handshake|host-death)$`)
			if r.exit != 0 {
				t.Fatalf("rustynet conformance exit %d\nstdout:\n%s\nstderr:\n%s", r.exit, r.stdout, r.stderr)
			}
			for _, id := range []string{"process.handshake", "process.host-death"} {
				if !strings.Contains(r.stdout, "PASS MUST   "+id) {
					t.Errorf("the report does not show %s passing:\n%s", id, r.stdout)
				}
			}
		})
	}
}
