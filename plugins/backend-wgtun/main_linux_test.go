package wgtun

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/netnstest"
)

// Children of this test binary, re-executed inside network namespaces: the
// backend served as a real plugin (what cmd/rustynet-backend-wgtun runs),
// and a probe that reports what Probe and Configure return.
const (
	childPlugin = "wgtun-plugin"
	childProbe  = "wgtun-probe"
)

func TestMain(m *testing.M) {
	netnstest.RegisterChild(childPlugin, func(context.Context, io.ReadWriteCloser) error {
		hostapi.ServeBackend(New(hostapi.PluginLogger()))
		return nil
	})
	netnstest.RegisterChild(childProbe, probeChild)
	netnstest.Main(m)
}

// probeChild writes the codes Probe and Configure return, on one line.
func probeChild(ctx context.Context, conn io.ReadWriteCloser) error {
	b := New(nil)
	defer b.Close(ctx)
	probeErr := b.Probe(ctx)
	cfgErr := b.Configure(ctx, hostapi.InterfaceConfig{
		Name:       netnstest.UniqueName("wgp"),
		PrivateKey: newKey().priv,
	})
	_, err := fmt.Fprintf(conn, "%s %s\n", hostapi.CodeOf(probeErr), hostapi.CodeOf(cfgErr))
	return err
}
