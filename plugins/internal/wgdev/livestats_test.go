package wgdev

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rustynet/rustynet/hostapi"
	"golang.zx2c4.com/wireguard/device"
)

// TestLiveFiguresMatchUAPI holds State's reading of wireguard-go's fields
// in place to the UAPI text of the same device: peers with and without
// traffic, a learned and a configured endpoint, keepalive, several allowed
// IPs configured out of order.
func TestLiveFiguresMatchUAPI(t *testing.T) {
	if livePeers == nil {
		t.Fatal("device.Peer of the wireguard-go in go.mod lacks a field livestats.go reads, or its type changed: State would fall back to the UAPI text")
	}
	a, b, c := newNode(t, "10.9.0.1"), newNode(t, "10.9.0.2"), newNode(t, "10.9.0.3")
	connect(t, a, b)
	connect(t, c, a) // a learns c's endpoint from c's traffic
	pc := c.peerOf(false)
	pc.AllowedIPs = []netip.Prefix{netip.MustParsePrefix("10.9.3.0/24"), netip.MustParsePrefix("10.9.0.3/32"), netip.MustParsePrefix("fd00::3/128")}
	pc.PersistentKeepalive = 25 * time.Second
	_, silent := newKey(t)
	if err := a.dev.ApplyPeers(hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{pc, {PublicKey: silent, Endpoint: netip.MustParseAddrPort("127.0.0.1:9"), AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.9.0.9/32")}}}}); err != nil {
		t.Fatal(err)
	}
	ping(t, a, b)
	ping(t, b, a)
	ping(t, c, a)

	equal := cmp.Comparer(func(x, y netip.Prefix) bool { return x == y })
	var diff string
	for range 5 { // a keepalive between the readings changes the counters; the next try sees none
		live, err := a.dev.liveState(1)
		if err != nil {
			t.Fatal(err)
		}
		text, err := a.dev.ipcState(3)
		if err != nil {
			t.Fatal(err)
		}
		if diff = cmp.Diff(text, live, equal, cmp.Comparer(func(x, y netip.AddrPort) bool { return x == y })); diff == "" {
			if len(live.Peers) != 3 || live.Peers[0].TxBytes+live.Peers[1].TxBytes+live.Peers[2].TxBytes == 0 {
				t.Fatalf("read %d peers, none with traffic: %+v", len(live.Peers), live.Peers)
			}
			return
		}
	}
	t.Errorf("read in place ≠ read through UAPI text (-text +live):\n%s", diff)
}

// TestPeerFieldsRefusesAnotherLayout: a field missing or of another type
// leaves no layout, so State reads the UAPI text instead.
func TestPeerFieldsRefusesAnotherLayout(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    reflect.Type
		ok   bool
	}{
		{"expected", reflect.TypeFor[expected](), true},
		{"device.Peer", reflect.TypeFor[device.Peer](), true},
		{"rxBytes missing", reflect.TypeFor[noRx](), false},
		{"txBytes not atomic", reflect.TypeFor[plainCounter](), false},
		{"endpoint of another type", reflect.TypeFor[otherEndpoint](), false},
		{"endpoint without its mutex", reflect.TypeFor[unlockedEndpoint](), false},
		{"not a struct", reflect.TypeFor[int](), false},
	} {
		if got := peerFields(tc.t) != nil; got != tc.ok {
			t.Errorf("%s: layout found = %v, want %v", tc.name, got, tc.ok)
		}
	}
}
