package netstack

import (
	"context"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/netnstest"
	"github.com/rustynet/rustynet/internal/vmtest/vmtesting"
)

// TestKernelInterop checks the netstack backend against the Linux kernel's
// WireGuard, inside a VM (the host kernel has no WireGuard module). The
// backend runs in the test process, in the guest's own namespace; the
// kernel link, in a namespace joined to it by a veth pair, is created and
// configured by iproute2's ip and wireguard-tools' wg alone. The checks are
// those of TestInteropWireguardGo (interopNet.check).
func TestKernelInterop(t *testing.T) {
	if !vmtesting.RunTest(t, vmtesting.Options{
		Modules: []string{"wireguard", "veth"},
		Tools:   []string{"ip", "wg"},
	}) {
		return
	}
	netnstest.Require(t)
	n := newInteropNet(t)
	peerPriv, peerPub := newKey(t)
	wgName := startKernelWireGuard(t, n.ns, peerPriv, peerPub, n.ours)
	n.check(t, wgName, peerPub)
}

// startKernelWireGuard creates a kernel WireGuard interface in ns with ip,
// configures it with configureWithTools (key pair priv, pub), and returns
// its name.
func startKernelWireGuard(t *testing.T, ns *netnstest.Namespace, priv hostapi.PrivateKey, pub hostapi.Key, ours *testNode) string {
	t.Helper()
	name := netnstest.UniqueName("wgk")
	nsOutput(t, ns, "ip", "link", "add", name, "type", "wireguard")
	t.Cleanup(func() {
		// Gone already if the namespace was deleted first.
		_, _ = ns.Output(context.Background(), "ip", "link", "del", name)
	})
	configureWithTools(t, ns, name, priv, ours)
	if got, want := nsOutput(t, ns, "wg", "show", name, "public-key"), pub.String(); got != want {
		t.Fatalf("wg show %s public-key: got %q, want %q", name, got, want)
	}
	return name
}
