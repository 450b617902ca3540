package wgkernel

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"

	"github.com/rustynet/rustynet/hostapi"
)

// sortPeers sorts peer configurations by key, as State reports them.
func sortPeers(ps []hostapi.PeerConfig) []hostapi.PeerConfig {
	ps = slices.Clone(ps)
	slices.SortFunc(ps, func(a, b hostapi.PeerConfig) int { return bytes.Compare(a.PublicKey[:], b.PublicKey[:]) })
	return ps
}

func prefixList(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

func testPeersReadBack(t *testing.T) {
	ctx := context.Background()
	b := newBackendIn(t, newNetNS(t), hostapi.InterfaceConfig{Name: "wgpeers0", PrivateKey: newKeyPair(t).priv})
	p1 := hostapi.PeerConfig{
		PublicKey:           newKeyPair(t).pub,
		Endpoint:            netip.MustParseAddrPort("192.0.2.10:51820"),
		AllowedIPs:          prefixList("100.64.0.2/32", "fd00:64::2/128"),
		PersistentKeepalive: 25 * time.Second,
	}
	p2 := hostapi.PeerConfig{
		PublicKey:  newKeyPair(t).pub,
		Endpoint:   netip.MustParseAddrPort("[2001:db8::1]:51820"),
		AllowedIPs: prefixList("100.64.1.0/24"),
	}
	// An exit: its default route overlaps everyone's allowed IPs, which is
	// legal (the kernel routes by the longest match).
	p3 := hostapi.PeerConfig{PublicKey: newKeyPair(t).pub, AllowedIPs: prefixList("0.0.0.0/0", "::/0")}
	if err := b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{p1, p2, p3}}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sortPeers([]hostapi.PeerConfig{p1, p2, p3}), configuredPeers(mustState(t, b)), netipComparers); diff != "" {
		t.Fatalf("peers after adding (-want +got):\n%s", diff)
	}

	// A difference: p3 goes, p2 gets other allowed IPs and keeps its
	// endpoint (zero means unchanged), p1 is removed and re-added (both
	// lists), an absent key is ignored.
	p2new := hostapi.PeerConfig{PublicKey: p2.PublicKey, AllowedIPs: prefixList("100.64.2.0/24")}
	absent := newKeyPair(t).pub
	err := b.ApplyPeers(ctx, hostapi.PeerChanges{
		Remove: []hostapi.Key{p3.PublicKey, absent, p1.PublicKey},
		Upsert: []hostapi.PeerConfig{p2new, p1},
	})
	if err != nil {
		t.Fatal(err)
	}
	p2want := p2new
	p2want.Endpoint = p2.Endpoint
	if diff := cmp.Diff(sortPeers([]hostapi.PeerConfig{p1, p2want}), configuredPeers(mustState(t, b)), netipComparers); diff != "" {
		t.Fatalf("peers after the difference (-want +got):\n%s", diff)
	}

	// An allowed IP moves from one peer to a new one in one change.
	p4 := hostapi.PeerConfig{PublicKey: newKeyPair(t).pub, AllowedIPs: prefixList("100.64.2.0/24")}
	p2moved := hostapi.PeerConfig{PublicKey: p2.PublicKey, AllowedIPs: prefixList("100.64.3.0/24")}
	if err := b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{p4, p2moved}}); err != nil {
		t.Fatalf("moving an allowed IP: %v", err)
	}
	p2moved.Endpoint = p2.Endpoint
	if diff := cmp.Diff(sortPeers([]hostapi.PeerConfig{p1, p2moved, p4}), configuredPeers(mustState(t, b)), netipComparers); diff != "" {
		t.Fatalf("peers after moving an allowed IP (-want +got):\n%s", diff)
	}

	// RemovePeers: present and absent keys.
	if err := b.RemovePeers(ctx, []hostapi.Key{p1.PublicKey, absent}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sortPeers([]hostapi.PeerConfig{p2moved, p4}), configuredPeers(mustState(t, b)), netipComparers); diff != "" {
		t.Fatalf("peers after RemovePeers (-want +got):\n%s", diff)
	}
	if err := b.RemovePeers(ctx, []hostapi.Key{{}}); err != nil {
		t.Errorf("RemovePeers with a zero key: got %v, want it ignored", err)
	}
}

func testPeersInvalid(t *testing.T) {
	ctx := context.Background()
	self := newKeyPair(t)
	b := newBackendIn(t, newNetNS(t), hostapi.InterfaceConfig{Name: "wginval0", PrivateKey: self.priv})
	existing := hostapi.PeerConfig{PublicKey: newKeyPair(t).pub, AllowedIPs: prefixList("100.64.0.2/32")}
	if err := b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{existing}}); err != nil {
		t.Fatal(err)
	}
	before := configuredPeers(mustState(t, b))

	// Every bad change also carries a good new peer, which must not appear.
	good := hostapi.PeerConfig{PublicKey: newKeyPair(t).pub, AllowedIPs: prefixList("100.64.9.0/24")}
	newKey := newKeyPair(t).pub
	peer := func(f func(*hostapi.PeerConfig)) hostapi.PeerConfig {
		p := hostapi.PeerConfig{PublicKey: newKey, AllowedIPs: prefixList("100.64.5.0/24")}
		f(&p)
		return p
	}
	tests := []struct {
		name   string
		change hostapi.PeerChanges
	}{
		{"zero key", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{good, peer(func(p *hostapi.PeerConfig) { p.PublicKey = hostapi.Key{} })}}},
		{"own key", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{good, peer(func(p *hostapi.PeerConfig) { p.PublicKey = self.pub })}}},
		{"duplicate key", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{good, good}}},
		{"zero allowed IP", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{good, peer(func(p *hostapi.PeerConfig) { p.AllowedIPs = []netip.Prefix{{}} })}}},
		{"no allowed IPs", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{good, peer(func(p *hostapi.PeerConfig) { p.AllowedIPs = nil })}}},
		{"host bits", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{good, peer(func(p *hostapi.PeerConfig) { p.AllowedIPs = prefixList("100.64.5.7/24") })}}},
		{"the same allowed IP on two new peers", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{good, peer(func(p *hostapi.PeerConfig) { p.AllowedIPs = good.AllowedIPs })}}},
		{"the allowed IP of an existing peer", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{good, peer(func(p *hostapi.PeerConfig) { p.AllowedIPs = existing.AllowedIPs })}}},
		{"endpoint port 0", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{good, peer(func(p *hostapi.PeerConfig) { p.Endpoint = netip.MustParseAddrPort("192.0.2.1:0") })}}},
		{"unspecified endpoint", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{good, peer(func(p *hostapi.PeerConfig) { p.Endpoint = netip.MustParseAddrPort("0.0.0.0:51820") })}}},
		{"negative keepalive", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{good, peer(func(p *hostapi.PeerConfig) { p.PersistentKeepalive = -time.Second })}}},
		{"fractional keepalive", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{good, peer(func(p *hostapi.PeerConfig) { p.PersistentKeepalive = 1500 * time.Millisecond })}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, "ApplyPeers", b.ApplyPeers(ctx, tt.change), hostapi.CodeInvalidArgument)
			if diff := cmp.Diff(before, configuredPeers(mustState(t, b)), netipComparers); diff != "" {
				t.Errorf("peers changed (-before +after):\n%s", diff)
			}
		})
	}
}

// failingClient passes calls to a real client but fails the
// ConfigureDevice calls whose numbers (from 1) are in failOn, as the
// kernel might refuse one message of a large change.
type failingClient struct {
	wgClient
	failOn map[int]bool
	calls  int
	// peersAtFailure is how many peers the device held when the first
	// failure was injected: proof that earlier messages took effect.
	peersAtFailure int
}

func (f *failingClient) ConfigureDevice(name string, cfg wgtypes.Config) error {
	f.calls++
	if !f.failOn[f.calls] {
		return f.wgClient.ConfigureDevice(name, cfg)
	}
	if f.peersAtFailure == 0 {
		if d, err := f.wgClient.Device(name); err == nil {
			f.peersAtFailure = len(d.Peers)
		}
	}
	return fmt.Errorf("injected failure of message %d: %w", f.calls, unix.ENOBUFS)
}

func testPeersRollback(t *testing.T) {
	ctx := context.Background()
	// Two messages of 32 peers at most carry the change; the first is
	// applied, the second fails.
	const added = 40
	tests := []struct {
		name     string
		failOn   map[int]bool
		wantCode hostapi.Code
		// restored: the peers before the change are back exactly;
		// otherwise the device only holds peers from before (shrunk).
		restored bool
	}{
		{"second message fails", map[int]bool{2: true}, hostapi.CodeUnavailable, true},
		{"rollback fails too", map[int]bool{2: true, 3: true}, hostapi.CodeInternal, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBackendIn(t, newNetNS(t), hostapi.InterfaceConfig{Name: "wgroll0", PrivateKey: newKeyPair(t).priv})
			p1 := hostapi.PeerConfig{PublicKey: newKeyPair(t).pub, AllowedIPs: prefixList("100.64.0.1/32")}
			p2 := hostapi.PeerConfig{PublicKey: newKeyPair(t).pub, AllowedIPs: prefixList("100.64.0.2/32")}
			if err := b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{p1, p2}}); err != nil {
				t.Fatal(err)
			}
			before := configuredPeers(mustState(t, b))

			change := hostapi.PeerChanges{Remove: []hostapi.Key{p2.PublicKey}}
			p1changed := hostapi.PeerConfig{PublicKey: p1.PublicKey, AllowedIPs: prefixList("100.64.0.1/32", "100.64.1.0/24")}
			change.Upsert = append(change.Upsert, p1changed)
			for i := range added {
				change.Upsert = append(change.Upsert, hostapi.PeerConfig{
					PublicKey:  newKeyPair(t).pub,
					AllowedIPs: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 1, byte(i), 1}), 32)},
				})
			}
			fc := &failingClient{wgClient: b.dev.wg, failOn: tt.failOn}
			b.dev.wg = fc

			wantCode(t, "ApplyPeers", b.ApplyPeers(ctx, change), tt.wantCode)
			if fc.peersAtFailure <= len(before) {
				t.Errorf("when the failure was injected the device held %d peers; want the first message (%d peers) applied", fc.peersAtFailure, peersPerMessage)
			}
			after := configuredPeers(mustState(t, b))
			if tt.restored {
				if diff := cmp.Diff(before, after, netipComparers); diff != "" {
					t.Errorf("peers after the failed change (-before +after):\n%s", diff)
				}
				return
			}
			for _, p := range after {
				if !slices.ContainsFunc(before, func(q hostapi.PeerConfig) bool { return q.PublicKey == p.PublicKey }) {
					t.Errorf("peer %s is on the device after a failed change and rollback; it was not there before", p.PublicKey)
				}
			}
		})
	}
}
