package netstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/netnstest"
	"github.com/rustynet/rustynet/internal/poll"
	"github.com/rustynet/rustynet/internal/poll/polltest"
	"github.com/rustynet/rustynet/internal/testbin"
)

// The interop topology: the test process's namespace (the host) and one
// namespace joined by a veth pair; plain wireguard-go on a TUN in the
// namespace, this package's backend in the test process.
var (
	interopHostVeth = netip.MustParsePrefix("10.99.201.1/30")
	interopNsVeth   = netip.MustParsePrefix("10.99.201.2/30")
	interopOurIP    = netip.MustParseAddr("198.18.201.1") // the netstack backend
	interopPeerIP   = netip.MustParseAddr("198.18.201.2") // wireguard-go's TUN
)

const (
	interopWGPort     = 51820 // wireguard-go's listen port, in the namespace
	interopExposePort = 7     // mesh port the netstack backend exposes
	interopServerPort = 7007  // echo server in the namespace, on the TUN address
)

// TestInteropWireguardGo checks the netstack backend against a WireGuard
// implementation that is not ours: plain wireguard-go on a TUN inside a
// network namespace, configured with the standard wg and ip tools (see
// interopNet.check for what must hold).
func TestInteropWireguardGo(t *testing.T) {
	netnstest.Require(t)
	requireTools(t, "ip", "wg")
	bin := testbin.Package(t, "golang.zx2c4.com/wireguard", "wireguard-go")
	n := newInteropNet(t)
	peerPriv, peerPub := newKey(t)
	wgName := startPlainWireguardGo(t, bin, n.ns, peerPriv, n.ours)
	n.check(t, wgName, peerPub)
}

// interopNet is the topology of an interop test: the test process's
// namespace (the host) and one namespace joined by a veth pair; our backend
// in the test process, the other WireGuard implementation in the
// namespace.
type interopNet struct {
	ns   *netnstest.Namespace
	ours *testNode // exposes a host echo service; forwards to the namespace
	// forward is the host address of our forward to the echo server the
	// namespace will run on interopPeerIP.
	forward string
}

// newInteropNet builds the namespace, the veth pair and our side.
func newInteropNet(t *testing.T) *interopNet {
	t.Helper()
	ns := netnstest.New(t)
	hostVeth(t, ns, interopHostVeth, interopNsVeth)
	hostEcho := startTCPEcho(t)
	nsServer := netip.AddrPortFrom(interopPeerIP, interopServerPort)
	ours := newTestNode(t, interopOurIP.String(), &hostapi.ProxyConfig{
		Exposes:  []hostapi.Expose{{Proto: hostapi.ProtoTCP, MeshPort: interopExposePort, Target: hostEcho}},
		Forwards: []hostapi.Forward{{Proto: hostapi.ProtoTCP, Listen: netip.AddrPortFrom(loopback, 0), Target: nsServer}},
	})
	return &interopNet{ns: ns, ours: ours, forward: serviceAddr(t, ours, fmt.Sprintf("forward tcp 127.0.0.1:0->%s", nsServer))}
}

// check runs against the WireGuard interface wgName in the namespace,
// public key peerPub, already configured by configureWithTools. It starts
// the namespace's echo server, makes the interface our backend's peer, and
// checks in order: a handshake and TCP both ways (from the namespace to
// the host service our backend exposes, and from the host through our
// forward to the namespace's server), both sides reporting the session,
// our per-peer counters moving with traffic, and RemovePeers cutting
// traffic both ways.
func (n *interopNet) check(t *testing.T, wgName string, peerPub hostapi.Key) {
	t.Helper()
	ns, ours := n.ns, n.ours
	ns.EchoTCP(t, netip.AddrPortFrom(interopPeerIP, interopServerPort)) // on the interface's address
	addPeer(t, ours, hostapi.PeerConfig{
		PublicKey:  peerPub,
		Endpoint:   netip.AddrPortFrom(interopNsVeth.Addr(), interopWGPort),
		AllowedIPs: []netip.Prefix{netip.PrefixFrom(interopPeerIP, 32)},
	})

	t.Run("namespace to exposed host service", func(t *testing.T) {
		c := n.dialExposed(t)
		echoRoundTrip(t, c, "from the namespace to netstack")
		echoRoundTrip(t, c, strings.Repeat("x", 64<<10)) // many full-size packets
	})

	t.Run("host through forward to namespace server", func(t *testing.T) {
		c := n.dialForward(t)
		echoRoundTrip(t, c, "from netstack to the namespace")
		echoRoundTrip(t, c, strings.Repeat("y", 64<<10))
	})

	ourKey := ours.pub.String()
	t.Run("both sides report the session", func(t *testing.T) {
		st, ok := peerState(t, ours, peerPub)
		if !ok {
			t.Fatal("netstack backend does not list the peer")
		}
		if st.LastHandshake.IsZero() || st.RxBytes == 0 || st.TxBytes == 0 {
			t.Errorf("netstack view of the peer: got handshake %v rx %d tx %d, want a handshake and traffic both ways", st.LastHandshake, st.RxBytes, st.TxBytes)
		}

		if got := wgField(t, ns, wgName, "latest-handshakes", ourKey); got == "0" {
			t.Errorf("wg show latest-handshakes: got %s, want a handshake time", got)
		}
		if got, want := wgField(t, ns, wgName, "endpoints", ourKey), netip.AddrPortFrom(interopHostVeth.Addr(), ours.port).String(); got != want {
			t.Errorf("wg show endpoints: got %s, want %s", got, want)
		}
		transfer := strings.Fields(wgField(t, ns, wgName, "transfer", ourKey))
		if len(transfer) != 2 || transfer[0] == "0" || transfer[1] == "0" {
			t.Errorf("wg show transfer: got %q, want non-zero rx and tx", transfer)
		}
	})

	t.Run("our counters move", func(t *testing.T) {
		before, _ := peerState(t, ours, peerPub)
		const size = 16 << 10
		echoRoundTrip(t, n.dialExposed(t), strings.Repeat("c", size))
		// wireguard-go counts a batch once the socket has taken it, which
		// may be after the other side has read it: poll.
		var after hostapi.PeerState
		if poll.Until(ioTimeout, 20*time.Millisecond, func() bool {
			after, _ = peerState(t, ours, peerPub)
			return after.RxBytes-before.RxBytes >= size && after.TxBytes-before.TxBytes >= size
		}) != nil {
			t.Errorf("netstack's counters for the peer: rx %d→%d, tx %d→%d; want each to grow by at least %d",
				before.RxBytes, after.RxBytes, before.TxBytes, after.TxBytes, size)
		}
	})

	t.Run("removing the peer cuts traffic", func(t *testing.T) {
		fromNs, viaForward := n.dialExposed(t), n.dialForward(t)
		echoRoundTrip(t, fromNs, "before the removal")
		echoRoundTrip(t, viaForward, "before the removal")
		if err := ours.b.RemovePeers(context.Background(), []hostapi.Key{peerPub}); err != nil {
			t.Fatalf("RemovePeers: %v", err)
		}
		if _, ok := peerState(t, ours, peerPub); ok {
			t.Fatal("netstack still lists the removed peer")
		}
		rxBefore := strings.Fields(wgField(t, ns, wgName, "transfer", ourKey))[0]
		noEcho(t, fromNs, "from the namespace, must not arrive")
		noEcho(t, viaForward, "through the forward, must not arrive")
		if err := ns.Do(func() error {
			c, err := net.DialTimeout("tcp", netip.AddrPortFrom(interopOurIP, interopExposePort).String(), cutTimeout)
			if err == nil {
				c.Close()
				return errors.New("a new connection from the namespace was accepted")
			}
			return nil
		}); err != nil {
			t.Error(err)
		}
		if rx := strings.Fields(wgField(t, ns, wgName, "transfer", ourKey))[0]; rx != rxBefore {
			t.Errorf("bytes the namespace's interface received from netstack after RemovePeers: got %s, want %s unchanged", rx, rxBefore)
		}
	})
}

// dialExposed connects from the namespace to the host service our backend
// exposes on the mesh; the connection is closed when t ends.
func (n *interopNet) dialExposed(t *testing.T) net.Conn {
	t.Helper()
	var c net.Conn
	if err := n.ns.Do(func() (err error) {
		c, err = net.DialTimeout("tcp", netip.AddrPortFrom(interopOurIP, interopExposePort).String(), ioTimeout)
		return err
	}); err != nil {
		t.Fatalf("dial the exposed port from the namespace: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// dialForward connects on the host to our forward to the namespace's echo
// server; the connection is closed when t ends.
func (n *interopNet) dialForward(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", n.forward, ioTimeout)
	if err != nil {
		t.Fatalf("dial the forward %s: %v", n.forward, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// startPlainWireguardGo runs wireguard-go on a new TUN inside ns, configures
// it with wg set and ip (private key priv, our backend as its only peer,
// interopPeerIP on the TUN) and returns the interface name. The process is
// stopped in t.Cleanup.
func startPlainWireguardGo(t *testing.T, bin string, ns *netnstest.Namespace, priv hostapi.PrivateKey, ours *testNode) string {
	t.Helper()
	name := netnstest.UniqueName("wgi")
	p := ns.Start(t, "env", "LOG_LEVEL=verbose", bin, "-f", name)
	sock := "/var/run/wireguard/" + name + ".sock"
	polltest.Until(t, "wireguard-go's UAPI socket "+sock, 20*time.Second, 20*time.Millisecond, func() bool {
		select {
		case <-p.Exited():
			t.Fatalf("wireguard-go exited: %s", p.Output())
		default:
		}
		_, err := os.Stat(sock)
		return err == nil
	})
	configureWithTools(t, ns, name, priv, ours)
	return name
}

// configureWithTools configures the existing WireGuard interface name
// (kernel or userspace) inside ns with the standard tools only: wg set for
// the private key priv, interopWGPort and our backend as its only peer,
// then ip for interopPeerIP on the interface, the link state and a route to
// our backend's address.
func configureWithTools(t *testing.T, ns *netnstest.Namespace, name string, priv hostapi.PrivateKey, ours *testNode) {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte(priv.Base64()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	nsOutput(t, ns, "wg", "set", name, "private-key", keyFile, "listen-port", strconv.Itoa(interopWGPort),
		"peer", ours.pub.String(),
		"endpoint", netip.AddrPortFrom(interopHostVeth.Addr(), ours.port).String(),
		"allowed-ips", netip.PrefixFrom(interopOurIP, 32).String())
	nsOutput(t, ns, "ip", "addr", "add", netip.PrefixFrom(interopPeerIP, 32).String(), "dev", name)
	nsOutput(t, ns, "ip", "link", "set", name, "up")
	nsOutput(t, ns, "ip", "route", "add", netip.PrefixFrom(interopOurIP, 32).String(), "dev", name)
}

// wgField returns the value `wg show iface field` reports for peer (the
// rest of the peer's line after its key).
func wgField(t *testing.T, ns *netnstest.Namespace, iface, field, peer string) string {
	t.Helper()
	out := nsOutput(t, ns, "wg", "show", iface, field)
	for line := range strings.Lines(out) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "\t"); ok && k == peer {
			return v
		}
	}
	t.Fatalf("wg show %s %s: no line for %s in:\n%s", iface, field, peer, out)
	return ""
}
