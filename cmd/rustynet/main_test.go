package main

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/testbin"
)

// envTestPlugin names the built-in plugin this test binary serves when a
// host launches it with no arguments, as it launches an external plugin
// (--store-plugin): the tests use the test binary as that plugin.
const envTestPlugin = "RUSTYNET_TEST_EXTERNAL_PLUGIN"

// envTestPluginCrashFile, set beside envTestPlugin, names a file whose
// existence makes that plugin crash (exit 3): at once when it starts, and
// within moments when the file appears while it runs.
const envTestPluginCrashFile = "RUSTYNET_TEST_PLUGIN_CRASH_FILE"

// TestMain lets the test binary serve plugins. The CLI launches a built-in
// plugin as `os.Executable() plugin NAME`; under `go test` that executable
// is this binary, which then runs the CLI in plugin mode instead of tests.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "plugin" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	if name := os.Getenv(envTestPlugin); name != "" && os.Getenv(hostapi.Handshake.MagicCookieKey) != "" {
		if f := os.Getenv(envTestPluginCrashFile); f != "" {
			crashOnceExists(f)
		}
		os.Exit(run(context.Background(), []string{"plugin", name}, os.Stdin, os.Stdout, os.Stderr))
	}
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// crashOnceExists makes this plugin process crash once path exists.
func crashOnceExists(path string) {
	exists := func() bool { _, err := os.Stat(path); return err == nil }
	if exists() {
		os.Exit(3)
	}
	go func() {
		for range time.Tick(10 * time.Millisecond) { // the plugin's own watch, not a test's wait
			if exists() {
				os.Exit(3)
			}
		}
	}()
}

// builtBinary returns the real rustynet binary, built once per test run.
func builtBinary(t *testing.T) string {
	t.Helper()
	return testbin.Rustynet(t)
}
