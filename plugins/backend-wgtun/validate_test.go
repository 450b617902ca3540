package wgtun

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rustynet/rustynet/hostapi"
)

func pfx(s ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(s))
	for i, x := range s {
		out[i] = netip.MustParsePrefix(x)
	}
	return out
}

var prefixCmp = cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })

func TestValidateConfig(t *testing.T) {
	key := hostapi.PrivateKey{1}
	tests := []struct {
		name string
		cfg  hostapi.InterfaceConfig
		want hostapi.Code
	}{
		{"minimal", hostapi.InterfaceConfig{PrivateKey: key}, hostapi.CodeOK},
		{"full", hostapi.InterfaceConfig{PrivateKey: key, MTU: 1380, Addresses: pfx("100.64.0.1/32", "fd7a::1/128"), UAPI: true}, hostapi.CodeOK},
		{"proxy", hostapi.InterfaceConfig{PrivateKey: key, Proxy: &hostapi.ProxyConfig{}}, hostapi.CodeUnsupported},
		{"zero key", hostapi.InterfaceConfig{}, hostapi.CodeInvalidArgument},
		{"mtu too small", hostapi.InterfaceConfig{PrivateKey: key, MTU: 500}, hostapi.CodeInvalidArgument},
		{"mtu too small for IPv6", hostapi.InterfaceConfig{PrivateKey: key, MTU: 1000, Addresses: pfx("fd7a::1/128")}, hostapi.CodeInvalidArgument},
		{"mtu too large", hostapi.InterfaceConfig{PrivateKey: key, MTU: 70000}, hostapi.CodeInvalidArgument},
		{"invalid address", hostapi.InterfaceConfig{PrivateKey: key, Addresses: []netip.Prefix{{}}}, hostapi.CodeInvalidArgument},
		{"unspecified address", hostapi.InterfaceConfig{PrivateKey: key, Addresses: pfx("0.0.0.0/32")}, hostapi.CodeInvalidArgument},
		{"multicast address", hostapi.InterfaceConfig{PrivateKey: key, Addresses: pfx("224.0.0.1/32")}, hostapi.CodeInvalidArgument},
		{"address twice", hostapi.InterfaceConfig{PrivateKey: key, Addresses: pfx("100.64.0.1/32", "100.64.0.1/10")}, hostapi.CodeInvalidArgument},
		{"gateway prefix with host bits", hostapi.InterfaceConfig{PrivateKey: key, Gateway: &hostapi.GatewayConfig{Prefixes: pfx("10.20.0.1/24")}}, hostapi.CodeInvalidArgument},
		{"gateway prefix twice", hostapi.InterfaceConfig{PrivateKey: key, Gateway: &hostapi.GatewayConfig{Prefixes: pfx("10.20.0.0/24", "10.20.0.0/24")}}, hostapi.CodeInvalidArgument},
		{"gateway", hostapi.InterfaceConfig{PrivateKey: key, Gateway: &hostapi.GatewayConfig{Prefixes: pfx("10.20.0.0/24", "0.0.0.0/0"), Masquerade: true}}, gatewayCode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hostapi.CodeOf(validateConfig(tt.cfg)); got != tt.want {
				t.Errorf("validateConfig: got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDiffPrefixes(t *testing.T) {
	added, removed := diffPrefixes(pfx("10.0.0.1/24", "10.0.0.2/32"), pfx("10.0.0.1/16", "10.0.0.2/32"))
	if diff := cmp.Diff(pfx("10.0.0.1/24"), added, prefixCmp); diff != "" {
		t.Errorf("added (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(pfx("10.0.0.1/16"), removed, prefixCmp); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
}

func TestUndoStackRunsNewestFirst(t *testing.T) {
	var got []int
	var u undoStack
	for i := range 3 {
		u.push(func() { got = append(got, i) })
	}
	u.run()
	u.run() // a second run has nothing left to do
	if diff := cmp.Diff([]int{2, 1, 0}, got); diff != "" {
		t.Errorf("undo order (-want +got):\n%s", diff)
	}
}
