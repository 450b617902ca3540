package conformance_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// binDir holds the plugin binaries the tests build, once per test run.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "conformance-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// plugins are the main packages the tests build, by binary name.
var plugins = map[string]string{
	"lose-appends":              "./testdata/broken/lose-appends",
	"accept-oversize":           "./testdata/broken/accept-oversize",
	"info-changes":              "./testdata/broken/info-changes",
	"reorder":                   "./testdata/broken/reorder",
	"stdout-writer":             "./testdata/broken/stdout-writer",
	"torn-snapshot":             "./testdata/broken/torn-snapshot",
	"ignore-removals":           "./testdata/broken/ignore-removals",
	"accept-invalid-peers":      "./testdata/broken/accept-invalid-peers",
	"leak-on-close":             "./testdata/broken/leak-on-close",
	"ignore-route-removals":     "./testdata/broken/ignore-route-removals",
	"refuse-overlap":            "./testdata/broken/refuse-overlap",
	"keep-gateway":              "./testdata/broken/keep-gateway",
	"ignore-filter":             "./testdata/broken/ignore-filter",
	"default-route-loop":        "./testdata/broken/default-route-loop",
	"remove-foreign-routes":     "./testdata/broken/remove-foreign-routes",
	"rustynet-store-files":      "../examples/store-files/cmd/rustynet-store-files",
	"rustynet-backend-netstack": "../plugins/backend-netstack/cmd/rustynet-backend-netstack",
	"rustynet-backend-wgtun":    "../plugins/backend-wgtun/cmd/rustynet-backend-wgtun",
}

var built = sync.OnceValue(func() error {
	args := []string{"build", "-o", binDir + string(filepath.Separator)}
	for _, pkg := range plugins {
		args = append(args, pkg)
	}
	out, err := exec.CommandContext(context.Background(), "go", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("go %v: %v\n%s", args, err, out)
	}
	return nil
})

// pluginPath builds the test plugins (once) and returns the path of one.
func pluginPath(t *testing.T, name string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no suite runs against built plugin binaries (scripts/test.sh runs them all)")
	}
	if _, ok := plugins[name]; !ok {
		t.Fatalf("no test plugin %q", name)
	}
	if err := built(); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(binDir, name)
}
