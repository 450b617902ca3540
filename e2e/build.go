package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Build compiles the rustynet command of this module into dir and returns
// the binary's path. The directory and the binary are made readable and
// executable by everyone, so a daemon may run as another user.
func Build(ctx context.Context, dir string) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go tool is not installed: %w", err)
	}
	bin := filepath.Join(dir, "rustynet")
	out, err := exec.CommandContext(ctx, goTool, "build", "-o", bin, "github.com/rustynet/rustynet/cmd/rustynet").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	return bin, nil
}
