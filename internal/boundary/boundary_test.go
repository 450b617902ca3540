package boundary

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRules lists the transitive dependencies of every package under each
// rule's directory (for every target platform the project builds for, since
// platform files can import different packages) and fails on any forbidden
// one, naming the importer chain's end points.
func TestRules(t *testing.T) {
	root := moduleRoot(t)
	platforms := [][2]string{{"linux", "amd64"}, {"darwin", "arm64"}, {"windows", "amd64"}}
	for _, r := range Rules {
		if _, err := os.Stat(filepath.Join(root, r.Under)); err != nil {
			t.Errorf("rule for %s/: %v (a rule that checks nothing passes for the wrong reason; update Rules)", r.Under, err)
			continue
		}
		for _, p := range platforms {
			t.Run(r.Under+"/"+p[0], func(t *testing.T) {
				for _, dep := range deps(t, root, "./"+r.Under+"/...", p[0], p[1]) {
					if r.Forbids(dep) {
						t.Errorf("%s/... depends on %s (forbidden: %s)", r.Under, dep, r.Why)
					}
				}
			})
		}
	}
}

// TestForbids proves the matcher bites on real transport packages and
// spares look-alikes.
func TestForbids(t *testing.T) {
	core := Rules[0]
	tests := []struct {
		dep  string
		want bool
	}{
		{"golang.zx2c4.com/wireguard/device", true},
		{"golang.zx2c4.com/wireguard/wgctrl", true},
		{"golang.zx2c4.com/wireguard", true},
		{"gvisor.dev/gvisor/pkg/tcpip", true},
		{"github.com/vishvananda/netlink", true},
		{"github.com/mdlayher/genetlink", true},
		{"github.com/google/nftables/expr", true},
		{"golang.zx2c4.com/wireguardx", false},
		{"github.com/hashicorp/go-plugin", false},
		{"crypto/ed25519", false},
	}
	for _, tt := range tests {
		if got := core.Forbids(tt.dep); got != tt.want {
			t.Errorf("Forbids(%q) = %v, want %v", tt.dep, got, tt.want)
		}
	}
}

func deps(t *testing.T, root, pattern, goos, goarch string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-test", pattern)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s (%s/%s): %v\n%s", pattern, goos, goarch, err, stderr.Bytes())
	}
	var ds []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		ds = append(ds, strings.TrimSpace(sc.Text()))
	}
	return ds
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}
