// Package testbin builds the binaries that tests and benchmarks run as a
// user, a daemon or a plugin host would: the rustynet binary once per test
// process (Rustynet, removed when TestMain calls Cleanup; or TempRustynet,
// for a TestMain that builds before any test), and any other command of
// this module or one it requires (Package, BuildPackage).
package testbin

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Build compiles this module's rustynet command into dir and returns the
// binary's path. dir is made readable and executable by everyone, so a
// daemon may run as another user.
func Build(ctx context.Context, dir string) (string, error) {
	return BuildPackage(ctx, dir, "github.com/rustynet/rustynet/cmd/rustynet", "rustynet")
}

// BuildPackage compiles the command pkg (of this module or one it
// requires, at the version go.mod pins, e.g. golang.zx2c4.com/wireguard
// for plain wireguard-go) as a static binary dir/name and returns its
// path. dir is made readable and executable by everyone.
func BuildPackage(ctx context.Context, dir, pkg, name string) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go tool is not installed: %w", err)
	}
	bin := filepath.Join(dir, name)
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	return bin, nil
}

// Package builds the command pkg (as BuildPackage does) into a temporary
// directory of tb, removed at cleanup, as name, and returns the binary's
// path. It skips tb only if the go tool is missing.
func Package(tb testing.TB, pkg, name string) string {
	tb.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		tb.Skipf("the go tool is not installed: cannot build %s", pkg)
	}
	bin, err := BuildPackage(tb.Context(), tb.TempDir(), pkg, name)
	if err != nil {
		tb.Fatal(err)
	}
	return bin
}

// TempRustynet builds the rustynet command into a new temporary directory,
// for a TestMain, which has no testing.TB to clean up with: remove removes
// the directory. It gives the build ten minutes.
func TempRustynet() (bin string, remove func(), err error) {
	dir, err := os.MkdirTemp("", "rustynet-bin-")
	if err != nil {
		return "", nil, err
	}
	remove = func() { os.RemoveAll(dir) }
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if bin, err = Build(ctx, dir); err != nil {
		remove()
		return "", nil, err
	}
	return bin, remove, nil
}

var built struct {
	once   sync.Once
	path   string
	remove func()
	err    error
}

// Rustynet returns the binary built once for this test process, building it
// on first use. It skips tb only if the go tool is missing.
func Rustynet(tb testing.TB) string {
	tb.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		tb.Skip("the go tool is not installed: cannot build the rustynet binary")
	}
	built.once.Do(func() {
		built.path, built.remove, built.err = TempRustynet()
	})
	if built.err != nil {
		tb.Fatalf("building rustynet: %v", built.err)
	}
	return built.path
}

// Cleanup removes the binary Rustynet built, if any; call it from TestMain
// after m.Run.
func Cleanup() {
	if built.remove != nil {
		built.remove()
	}
}
