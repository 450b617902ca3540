package vmtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
)

// BuildStatic builds the Go main package pkg (an import path, or a path
// relative to dir starting with "./") into out, statically linked for the
// guest (CGO_ENABLED=0, linux/amd64). dir is the directory go runs in,
// which selects the module; empty means the current directory.
func BuildStatic(ctx context.Context, dir, pkg, out string) error {
	return goCommand(ctx, dir, "build", "-o", out, pkg)
}

// BuildTestBinary compiles the tests of the Go package pkg (as for
// BuildStatic) into the executable out, statically linked for the guest:
// `go test -c` with CGO_ENABLED=0.
func BuildTestBinary(ctx context.Context, dir, pkg, out string) error {
	return goCommand(ctx, dir, "test", "-c", "-o", out, pkg)
}

// goCommand runs the go tool for the guest's platform.
func goCommand(ctx context.Context, dir string, args ...string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("vmtest: the go tool is not in PATH: %w", err)
	}
	cmd := exec.CommandContext(ctx, goTool, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("vmtest: go %v: %w\n%s", args, err, out)
	}
	return nil
}
