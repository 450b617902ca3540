package conformance

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/hostapi"
)

// meshAddr returns the n-th mesh address, 100.64.x.y.
func meshAddr(n int) netip.Addr { return netip.AddrFrom4([4]byte{100, 64, byte(n >> 8), byte(n)}) }

// runnable returns why b cannot be configured in its node, or "".
func runnable(ctx context.Context, b *BackendInstance) string {
	if touchesHost(b) && !b.Node.Isolated {
		return fmt.Sprintf("the backend needs %s and would change this host's network; run it in isolated nodes (Topology: conformance.Namespaces(), or the CLI's --netns as root)", privilegeNames(b.info.Privileges))
	}
	if err := b.Probe(ctx); err != nil {
		return fmt.Sprintf("the backend's Probe says it cannot work in node %s: %v", b.Node.Name, err)
	}
	return ""
}

func privilegeNames(p hostapi.Privileges) string {
	var names []string
	if p.Root {
		names = append(names, "root")
	}
	if p.TUN {
		names = append(names, "a TUN device")
	}
	if p.KernelModule {
		names = append(names, "kernel WireGuard")
	}
	if len(names) == 0 {
		return "nothing"
	}
	return strings.Join(names, ", ")
}

// configured starts an instance of the backend under test in node (nil: a
// fresh node) and configures it as a fresh identity with mesh address
// meshAddr(n). It skips when the backend cannot run there.
func configured(ctx context.Context, env *Env, node *Node, n int) (*BackendInstance, *identity, error) {
	id := newIdentity(meshAddr(n))
	b, err := configuredWith(ctx, env, node, id.config())
	return b, id, err
}

// configuredWith starts an instance of the backend under test in node
// (nil: a fresh node) and configures it with cfg. It skips when the
// backend cannot run there.
func configuredWith(ctx context.Context, env *Env, node *Node, cfg hostapi.InterfaceConfig) (*BackendInstance, error) {
	b, err := env.StartBackend(ctx, node)
	if err != nil {
		return nil, err
	}
	if why := runnable(ctx, b); why != "" {
		return nil, Skip(why)
	}
	if err := b.Configure(ctx, cfg); err != nil {
		return nil, fmt.Errorf("Configure: %w", err)
	}
	env.Cleanup(func() { _ = b.Close(context.Background()) })
	return b, nil
}

// peerConfig is the configured part of a PeerState, normalised: allowed IPs
// masked and sorted, as WireGuard stores them.
type peerConfig struct {
	PublicKey  hostapi.Key
	Endpoint   netip.AddrPort
	AllowedIPs []netip.Prefix
	Keepalive  time.Duration
}

func normalise(ps []netip.Prefix) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.Masked())
	}
	slices.SortFunc(out, func(x, y netip.Prefix) int {
		if c := x.Addr().Compare(y.Addr()); c != 0 {
			return c
		}
		return cmp.Compare(x.Bits(), y.Bits())
	})
	return out
}

func configOfState(p hostapi.PeerState) peerConfig {
	return peerConfig{PublicKey: p.PublicKey, Endpoint: p.Endpoint, AllowedIPs: normalise(p.AllowedIPs), Keepalive: p.PersistentKeepalive}
}

func configOfPeer(p hostapi.PeerConfig) peerConfig {
	return peerConfig{PublicKey: p.PublicKey, Endpoint: p.Endpoint, AllowedIPs: normalise(p.AllowedIPs), Keepalive: p.PersistentKeepalive}
}

// netipComparers compare netip values by value for go-cmp.
var netipComparers = gocmp.Options{
	gocmp.Comparer(func(x, y netip.Prefix) bool { return x == y }),
	gocmp.Comparer(func(x, y netip.AddrPort) bool { return x == y }),
	gocmp.Comparer(func(x, y netip.Addr) bool { return x == y }),
	gocmp.Comparer(func(x, y hostapi.Key) bool { return x == y }),
}

// peerSet reads b's peers as configurations, checking that State lists
// them sorted by public key.
func peerSet(ctx context.Context, b hostapi.Backend) ([]peerConfig, error) {
	st, err := b.State(ctx)
	if err != nil {
		return nil, fmt.Errorf("State: %w", err)
	}
	if !slices.IsSortedFunc(st.Peers, func(x, y hostapi.PeerState) int { return bytes.Compare(x.PublicKey[:], y.PublicKey[:]) }) {
		return nil, fmt.Errorf("State: peers are not sorted by public key: %v", keysOf(st.Peers))
	}
	out := make([]peerConfig, 0, len(st.Peers))
	for _, p := range st.Peers {
		out = append(out, configOfState(p))
	}
	return out, nil
}

func keysOf(ps []hostapi.PeerState) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.PublicKey.String())
	}
	return out
}

// wantPeers checks that b's peers are exactly want (in any order given).
func wantPeers(ctx context.Context, b hostapi.Backend, want ...hostapi.PeerConfig) error {
	got, err := peerSet(ctx, b)
	if err != nil {
		return err
	}
	w := make([]peerConfig, 0, len(want))
	for _, p := range want {
		w = append(w, configOfPeer(p))
	}
	slices.SortFunc(w, func(x, y peerConfig) int { return bytes.Compare(x.PublicKey[:], y.PublicKey[:]) })
	if diff := gocmp.Diff(w, got, netipComparers); diff != "" {
		return fmt.Errorf("peers read back (-want +got):\n%s", diff)
	}
	return nil
}

// peerState returns b's view of peer k.
func peerState(ctx context.Context, b hostapi.Backend, k hostapi.Key) (hostapi.PeerState, error) {
	st, err := b.State(ctx)
	if err != nil {
		return hostapi.PeerState{}, fmt.Errorf("State: %w", err)
	}
	for _, p := range st.Peers {
		if p.PublicKey == k {
			return p, nil
		}
	}
	return hostapi.PeerState{}, fmt.Errorf("State lists no peer %s", k)
}

// loopbackEndpoint is an endpoint for peers that are configured but never
// sent to: a port on 127.0.0.1.
func loopbackEndpoint(port uint16) netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
}
