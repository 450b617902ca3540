package vmtest

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestShellQuote(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no POSIX shell on this host")
	}
	args := []string{"plain", "with space", "it's", `"double"`, "$HOME", "`date`", "a\nb", ""}
	script := "for a in"
	for _, a := range args {
		script += " " + shellQuote(a)
	}
	script += `; do printf '%s\0' "$a"; done`
	out, err := exec.Command(sh, "-c", script).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if diff := cmp.Diff(args, got); diff != "" {
		t.Errorf("words after the shell (-want +got):\n%s", diff)
	}
}

func TestInitScriptSyntax(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no POSIX shell on this host")
	}
	script := initScript([]string{"/lib/modules/udp_tunnel.ko", "/lib/modules/wireguard.ko"},
		guestProgram, []string{"-test.run", "^TestX$"}, []string{"A=b c"})
	if out, err := exec.Command(sh, "-n", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("sh -n: %v\n%s\nscript:\n%s", err, out, script)
	}
	for _, want := range []string{
		"insmod '/lib/modules/udp_tunnel.ko' || fail",
		"'A=b c' '" + guestProgram + "' '-test.run' '^TestX$' </dev/null >" + programTTY,
		beginMarker, endMarker,
	} {
		if !strings.Contains(script, want) {
			t.Errorf("script lacks %q:\n%s", want, script)
		}
	}
	if i, j := strings.Index(script, "udp_tunnel.ko"), strings.Index(script, "wireguard.ko"); i > j {
		t.Errorf("modules loaded out of order:\n%s", script)
	}
}
