package main

import (
	"context"
	"os"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/testbin"
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
	testbin.Cleanup()
	os.Exit(code)
}

// builtBinary returns the real rustynet binary, built once per test run.
func builtBinary(t *testing.T) string {
	t.Helper()
	return testbin.Rustynet(t)
}
