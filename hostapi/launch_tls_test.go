package hostapi_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
)

// init runs the helpers of the TLS tests below (TestMain's runHelper runs
// the others): plugins whose TLS differs from a current hostapi plugin's.
func init() {
	switch os.Getenv(helperEnv) {
	case "store-plaintext": // serves without TLS: no certificate in its handshake line
		_ = os.Unsetenv("PLUGIN_CLIENT_CERT")
		hostapi.ServeStore(helperStore())
	case "store-bad-host-cert": // cannot read the host's certificate
		_ = os.Setenv("PLUGIN_CLIENT_CERT", "not a certificate")
		hostapi.ServeStore(helperStore())
	case "store-automtls": // TLS from go-plugin's AutoMTLS, as a plugin built on an older hostapi
		hostapi.ServeStore(helperStore(), hostapi.WithGoPluginTLS())
	default:
		return
	}
	os.Exit(0)
}

func TestLaunchRefusesPluginsWithoutMutualTLS(t *testing.T) {
	tests := []struct {
		name     string
		mode     string
		wantText string
	}{
		{"plaintext plugin", "store-plaintext", "handshake line carries no TLS certificate"},
		{"host certificate unreadable", "store-bad-host-cert", "PLUGIN_CLIENT_CERT holds no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
			defer cancel()
			c, err := hostapi.LaunchStore(ctx, helperConfig(t, tt.mode, nil))
			if err == nil {
				c.Kill()
				t.Fatal("LaunchStore succeeded, want an error")
			}
			t.Logf("launch error: %v", err)
			wantCode(t, err, hostapi.CodeUnavailable)
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not contain %q", err, tt.wantText)
			}
		})
	}
}

// TestLaunchPluginWithGoPluginAutoMTLS: a plugin that leaves TLS to
// go-plugin's AutoMTLS (P-521, as one built on an older hostapi does)
// still completes the launch and serves.
func TestLaunchPluginWithGoPluginAutoMTLS(t *testing.T) {
	c := launchStore(t, helperConfig(t, "store-automtls", nil))
	if err := c.Open(t.Context(), hostapi.StoreConfig{Dir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Head(t.Context()); err != nil {
		t.Fatal(err)
	}
}
