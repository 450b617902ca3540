package wgtun

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/netnstest"
	"github.com/rustynet/rustynet/internal/poll"
	"github.com/rustynet/rustynet/internal/vmtest/vmtesting"
)

// cutTimeout is how long an echo over a cut tunnel is given to come back;
// over a live tunnel one returns in milliseconds, even emulated.
const cutTimeout = 3 * time.Second

// TestKernelInterop carries traffic between wgtun and the Linux kernel's
// WireGuard, inside a VM (the host kernel has no WireGuard module). The
// wgtun plugin runs in one namespace; the kernel link in the other, joined
// by a veth pair, is created and configured by iproute2's ip and
// wireguard-tools' wg alone. In order on one tunnel: the handshake and TCP
// both ways, wgtun's per-peer counters moving with traffic, the kernel's
// view through wg show, and RemovePeers cutting traffic both ways.
func TestKernelInterop(t *testing.T) {
	if !vmtesting.RunTest(t, vmtesting.Options{
		Modules: []string{"wireguard", "veth", "tun"},
		Tools:   []string{"ip", "wg"},
	}) {
		return
	}
	netnstest.Require(t)
	ctx := context.Background()
	a, b := topology(t) // a: wgtun, b: the kernel
	ba := launchTowards(t, a, b)
	startKernelWireGuard(t, b, a)

	toKernel := dial(t, a.ns, b.ns.EchoTCP(t, netip.AddrPortFrom(b.tunAddr.Addr(), 0)))
	mustEcho(t, toKernel, "wgtun to kernel")
	toWgtun := dial(t, b.ns, a.ns.EchoTCP(t, netip.AddrPortFrom(a.tunAddr.Addr(), 0)))
	mustEcho(t, toWgtun, "kernel to wgtun")

	t.Run("wgtun counters move", func(t *testing.T) {
		before := peerState(t, ba, b.key.pub)
		if before.LastHandshake.IsZero() || before.Endpoint != b.endpoint() {
			t.Fatalf("wgtun's kernel peer: got handshake %v endpoint %v; want a handshake with %v", before.LastHandshake, before.Endpoint, b.endpoint())
		}
		const size = 16 << 10
		mustEcho(t, toKernel, strings.Repeat("k", size))
		mustEcho(t, toWgtun, strings.Repeat("w", size))
		// Twice size of payload went each way, in TCP segments and
		// WireGuard's framing. wireguard-go counts a batch once the socket
		// has taken it, which may be after the other side has read it:
		// poll.
		var after hostapi.PeerState
		if poll.Until(20*time.Second, 20*time.Millisecond, func() bool {
			after = peerState(t, ba, b.key.pub)
			return after.RxBytes-before.RxBytes >= 2*size && after.TxBytes-before.TxBytes >= 2*size
		}) != nil {
			t.Errorf("wgtun's counters for the kernel peer: rx %d→%d, tx %d→%d; want each to grow by at least %d",
				before.RxBytes, after.RxBytes, before.TxBytes, after.TxBytes, 2*size)
		}
	})

	t.Run("kernel wg show", func(t *testing.T) {
		ours := a.key.pub.String()
		if got := kernelPeerField(t, b, "endpoints", ours); got != a.endpoint().String() {
			t.Errorf("wg show %s endpoints: got %s, want %s", b.name, got, a.endpoint())
		}
		if got := kernelPeerField(t, b, "latest-handshakes", ours); got == "0" {
			t.Errorf("wg show %s latest-handshakes: got %s, want a handshake", b.name, got)
		}
		rx, tx := kernelTransfer(t, b, a)
		if rx < 32<<10 || tx < 32<<10 {
			t.Errorf("wg show %s transfer: got rx %d tx %d, want at least %d each way", b.name, rx, tx, 32<<10)
		}
	})

	t.Run("removing the peer cuts traffic", func(t *testing.T) {
		if err := ba.RemovePeers(ctx, []hostapi.Key{b.key.pub}); err != nil {
			t.Fatal(err)
		}
		st, err := ba.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Peers) != 0 {
			t.Fatalf("wgtun's peers after RemovePeers: got %+v, want none", st.Peers)
		}
		rxBefore, _ := kernelTransfer(t, b, a)
		for _, c := range []struct {
			name string
			conn net.Conn
		}{{"wgtun to kernel", toKernel}, {"kernel to wgtun", toWgtun}} {
			err := echo(c.conn, "must not arrive", cutTimeout)
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Errorf("echo %s after RemovePeers: got %v, want a timeout", c.name, err)
			}
		}
		if rx, _ := kernelTransfer(t, b, a); rx != rxBefore {
			t.Errorf("bytes the kernel received from wgtun after RemovePeers: got %d, want %d unchanged", rx, rxBefore)
		}
	})
}

// startKernelWireGuard creates a kernel WireGuard interface for n in n's
// namespace with ip and configures it with wg and ip (configureWithTools),
// peer as its only peer.
func startKernelWireGuard(t *testing.T, n, peer *node) {
	t.Helper()
	n.ns.Run(t, "ip", "link", "add", n.name, "type", "wireguard")
	t.Cleanup(func() {
		// Gone already if the namespace was deleted first.
		_, _ = n.ns.Output(context.Background(), "ip", "link", "del", n.name)
	})
	configureWithTools(t, n, peer)
	if got := wgShow(t, n.ns, n.name, "public-key"); got != n.key.pub.String() {
		t.Fatalf("wg show %s public-key: got %q, want %q", n.name, got, n.key.pub)
	}
}

// kernelPeerField returns what `wg show` reports in field for peer key on
// n's interface: the rest of the peer's line after its key.
func kernelPeerField(t *testing.T, n *node, field, key string) string {
	t.Helper()
	out := wgShow(t, n.ns, n.name, field)
	for line := range strings.Lines(out) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "\t"); ok && k == key {
			return v
		}
	}
	t.Fatalf("wg show %s %s: no line for %s in:\n%s", n.name, field, key, out)
	return ""
}

// kernelTransfer returns the bytes n's interface received from and sent to
// peer, as wg show reports them.
func kernelTransfer(t *testing.T, n, peer *node) (rx, tx uint64) {
	t.Helper()
	v := kernelPeerField(t, n, "transfer", peer.key.pub.String())
	f := strings.Fields(v)
	if len(f) != 2 {
		t.Fatalf("wg show %s transfer: got %q, want two numbers", n.name, v)
	}
	var err error
	if rx, err = strconv.ParseUint(f[0], 10, 64); err != nil {
		t.Fatal(err)
	}
	if tx, err = strconv.ParseUint(f[1], 10, 64); err != nil {
		t.Fatal(err)
	}
	return rx, tx
}
