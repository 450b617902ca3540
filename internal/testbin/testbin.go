// Package testbin builds the rustynet binary for tests and benchmarks that
// run it as a user or a daemon would: once per test process, removed when
// the process's TestMain calls Cleanup.
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

var built struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// Rustynet returns the binary built once for this test process, building it
// on first use. It skips tb only if the go tool is missing.
func Rustynet(tb testing.TB) string {
	tb.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		tb.Skip("the go tool is not installed: cannot build the rustynet binary")
	}
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "rustynet-bin-"); built.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		built.path, built.err = Build(ctx, built.dir)
	})
	if built.err != nil {
		tb.Fatalf("building rustynet: %v", built.err)
	}
	return built.path
}

// Cleanup removes the binary Rustynet built, if any; call it from TestMain
// after m.Run.
func Cleanup() {
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
}
