package wgkernel

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/hostapi"
)

func TestCheckInterface(t *testing.T) {
	key := hostapi.PrivateKey{1}
	tests := []struct {
		name     string
		cfg      hostapi.InterfaceConfig
		want     ifaceConfig
		wantCode hostapi.Code
	}{
		{
			name: "defaults",
			cfg:  hostapi.InterfaceConfig{PrivateKey: key},
			want: ifaceConfig{name: DefaultName, privateKey: key, mtu: DefaultMTU},
		},
		{
			name: "addresses sorted, host bits kept",
			cfg: hostapi.InterfaceConfig{Name: "wg0", PrivateKey: key, ListenPort: 51820, MTU: 1280,
				Addresses: pfx("fd00::1/64", "100.64.0.1/10")},
			want: ifaceConfig{name: "wg0", privateKey: key, listenPort: 51820, mtu: 1280,
				addresses: pfx("100.64.0.1/10", "fd00::1/64")},
		},
		{name: "proxy", cfg: hostapi.InterfaceConfig{PrivateKey: key, Proxy: &hostapi.ProxyConfig{}}, wantCode: hostapi.CodeUnsupported},
		{name: "UAPI", cfg: hostapi.InterfaceConfig{PrivateKey: key, UAPI: true}, wantCode: hostapi.CodeUnsupported},
		{name: "zero key: no identity yet", cfg: hostapi.InterfaceConfig{}, want: ifaceConfig{name: DefaultName, mtu: DefaultMTU}},
		{name: "name too long", cfg: hostapi.InterfaceConfig{PrivateKey: key, Name: "0123456789abcdef"}, wantCode: hostapi.CodeInvalidArgument},
		{name: "name dot", cfg: hostapi.InterfaceConfig{PrivateKey: key, Name: "."}, wantCode: hostapi.CodeInvalidArgument},
		{name: "name colon", cfg: hostapi.InterfaceConfig{PrivateKey: key, Name: "wg:0"}, wantCode: hostapi.CodeInvalidArgument},
		{name: "name non-ASCII", cfg: hostapi.InterfaceConfig{PrivateKey: key, Name: "wgé"}, wantCode: hostapi.CodeInvalidArgument},
		{name: "MTU low", cfg: hostapi.InterfaceConfig{PrivateKey: key, MTU: 575}, wantCode: hostapi.CodeInvalidArgument},
		{name: "MTU high", cfg: hostapi.InterfaceConfig{PrivateKey: key, MTU: 65536}, wantCode: hostapi.CodeInvalidArgument},
		{name: "MTU low for IPv6", cfg: hostapi.InterfaceConfig{PrivateKey: key, MTU: 1279, Addresses: pfx("fd00::1/64")}, wantCode: hostapi.CodeInvalidArgument},
		{name: "zero address", cfg: hostapi.InterfaceConfig{PrivateKey: key, Addresses: []netip.Prefix{{}}}, wantCode: hostapi.CodeInvalidArgument},
		{name: "duplicate address", cfg: hostapi.InterfaceConfig{PrivateKey: key, Addresses: pfx("10.0.0.1/24", "10.0.0.1/24")}, wantCode: hostapi.CodeInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := checkInterface(tt.cfg)
			if code := hostapi.CodeOf(err); code != tt.wantCode {
				t.Fatalf("checkInterface: got %v (code %v), want code %v", err, code, tt.wantCode)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(ifaceConfig{}), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
				t.Errorf("checkInterface (-want +got):\n%s", diff)
			}
		})
	}
}
