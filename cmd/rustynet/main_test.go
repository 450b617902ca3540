package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
)

// envTestPlugin names the built-in plugin this test binary serves when a
// host launches it with no arguments, as it launches an external plugin
// (--store-plugin): the tests use the test binary as that plugin.
const envTestPlugin = "RUSTYNET_TEST_EXTERNAL_PLUGIN"

// TestMain lets the test binary serve plugins. The CLI launches a built-in
// plugin as `os.Executable() plugin NAME`; under `go test` that executable
// is this binary, which then runs the CLI in plugin mode instead of tests.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "plugin" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	if name := os.Getenv(envTestPlugin); name != "" && os.Getenv(hostapi.Handshake.MagicCookieKey) != "" {
		os.Exit(run(context.Background(), []string{"plugin", name}, os.Stdin, os.Stdout, os.Stderr))
	}
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// built is the rustynet binary built once for every test that runs it.
var built struct {
	once sync.Once
	dir  string // removed by TestMain
	path string
	err  error
	out  []byte
}

// builtBinary returns the path of the real rustynet binary, built from
// this package once per test run. It skips the test if the go tool is
// missing.
func builtBinary(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go tool is not installed: cannot build the binary")
	}
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "rustynet-bin-"); built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "rustynet")
		built.out, built.err = exec.Command(goTool, "build", "-o", built.path, ".").CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("go build: %v\n%s", built.err, built.out)
	}
	return built.path
}
