package wgtun

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
)

func TestInfo(t *testing.T) {
	info, err := New(nil).Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != Name || info.Version == "" {
		t.Errorf("Info: got name %q version %q, want %q and a version", info.Name, info.Version, Name)
	}
	if !info.Privileges.Root || !info.Privileges.TUN || info.Privileges.KernelModule {
		t.Errorf("Info privileges: got %+v, want root and TUN only", info.Privileges)
	}
	if !info.Capabilities.Has(hostapi.BackendCapPacketFilter) || info.Capabilities.Has(hostapi.BackendCapProxy) {
		t.Errorf("Info capabilities %b: want a packet filter and no proxies", info.Capabilities)
	}
	if got, want := info.Capabilities.Has(hostapi.BackendCapGateway), gatewayCode == hostapi.CodeOK; got != want {
		t.Errorf("Info capabilities %b: gateway advertised %v, want %v", info.Capabilities, got, want)
	}
}

// TestBeforeConfigure checks that everything but Info, Probe, Configure and
// Close returns ErrClosed before the interface exists, and that a refused
// first Configure creates nothing (it is refused before any TUN is made).
func TestBeforeConfigure(t *testing.T) {
	ctx := context.Background()
	b := New(nil)
	calls := []struct {
		name string
		call func() error
	}{
		{"ApplyPeers", func() error { return b.ApplyPeers(ctx, hostapi.PeerChanges{}) }},
		{"RemovePeers", func() error { return b.RemovePeers(ctx, nil) }},
		{"State", func() error { _, err := b.State(ctx); return err }},
		{"ApplyRoutes", func() error { return b.ApplyRoutes(ctx, hostapi.RouteChanges{}) }},
		{"SetFilter", func() error { return b.SetFilter(ctx, hostapi.Filter{}) }},
	}
	for _, c := range calls {
		if err := c.call(); !errors.Is(err, hostapi.ErrClosed) {
			t.Errorf("%s before Configure: got %v, want ErrClosed", c.name, err)
		}
	}
	err := b.Configure(ctx, hostapi.InterfaceConfig{PrivateKey: hostapi.PrivateKey{1}, Proxy: &hostapi.ProxyConfig{}})
	if !errors.Is(err, hostapi.ErrUnsupported) {
		t.Errorf("Configure with a proxy: got %v, want ErrUnsupported", err)
	}
	if err := b.ApplyRoutes(ctx, hostapi.RouteChanges{Add: []netip.Prefix{netip.MustParsePrefix("10.1.2.3/8")}}); !errors.Is(err, hostapi.ErrClosed) {
		t.Errorf("ApplyRoutes with bad input before Configure: got %v, want ErrClosed", err)
	}
	if err := b.Close(ctx); err != nil {
		t.Fatalf("Close before Configure: %v", err)
	}
	for _, cfg := range []hostapi.InterfaceConfig{{PrivateKey: hostapi.PrivateKey{1}}, {}} {
		if err := b.Configure(ctx, cfg); !errors.Is(err, hostapi.ErrClosed) {
			t.Errorf("Configure after Close: got %v, want ErrClosed", err)
		}
	}
	if err := b.Close(ctx); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
}
