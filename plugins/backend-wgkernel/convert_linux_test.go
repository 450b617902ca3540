package wgkernel

import (
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPrefixConversions(t *testing.T) {
	for _, s := range []string{"100.64.0.1/24", "0.0.0.0/0", "fd00::1/64", "::/0", "10.1.2.3/32"} {
		p := netip.MustParsePrefix(s)
		got, ok := ipNetPrefix(prefixIPNet(p))
		if !ok || got != p {
			t.Errorf("round trip of %s: got %v, %v", s, got, ok)
		}
	}
	// IPv4 in the 16-byte form the net package often uses.
	n := &net.IPNet{IP: net.ParseIP("10.0.0.1"), Mask: net.CIDRMask(8, 32)}
	if got, ok := ipNetPrefix(n); !ok || got != netip.MustParsePrefix("10.0.0.1/8") {
		t.Errorf("ipNetPrefix(16-byte IPv4): got %v, %v; want 10.0.0.1/8", got, ok)
	}
	if _, ok := ipNetPrefix(nil); ok {
		t.Error("ipNetPrefix(nil): got ok")
	}

	nets := []net.IPNet{*n, {IP: net.ParseIP("fd00::"), Mask: net.CIDRMask(64, 128)}, *n}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/64")}
	if diff := cmp.Diff(want, prefixes(nets), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("prefixes (-want +got):\n%s", diff)
	}
}

func TestUDPAddrPort(t *testing.T) {
	tests := []struct {
		name string
		in   *net.UDPAddr
		want netip.AddrPort
	}{
		{"nil", nil, netip.AddrPort{}},
		{"IPv4 as 16 bytes", &net.UDPAddr{IP: net.ParseIP("192.0.2.1"), Port: 51820}, netip.MustParseAddrPort("192.0.2.1:51820")},
		{"IPv6", &net.UDPAddr{IP: net.ParseIP("2001:db8::1"), Port: 1}, netip.MustParseAddrPort("[2001:db8::1]:1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := udpAddrPort(tt.in); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
