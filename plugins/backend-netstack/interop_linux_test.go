package netstack

import (
	"context"
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
// network namespace, configured with the standard wg and ip tools. They must
// complete a handshake and carry TCP both ways: from the namespace to a
// host service the backend exposes, and from the host through a backend
// forward to a server in the namespace.
func TestInteropWireguardGo(t *testing.T) {
	netnstest.Require(t)
	requireTools(t, "ip", "wg")
	bin := buildWireguardGo(t)

	ns := netnstest.New(t)
	hostVeth(t, ns, interopHostVeth, interopNsVeth)

	// Our side: exposes a host echo service; forwards a host port to the
	// echo server behind wireguard-go.
	hostEcho := startTCPEcho(t)
	nsServer := netip.AddrPortFrom(interopPeerIP, interopServerPort)
	ours := newTestNode(t, interopOurIP.String(), &hostapi.ProxyConfig{
		Exposes:  []hostapi.Expose{{Proto: hostapi.ProtoTCP, MeshPort: interopExposePort, Target: hostEcho}},
		Forwards: []hostapi.Forward{{Proto: hostapi.ProtoTCP, Listen: netip.AddrPortFrom(loopback, 0), Target: nsServer}},
	})
	forward := serviceAddr(t, ours, fmt.Sprintf("forward tcp 127.0.0.1:0->%s", nsServer))

	// Their side: wireguard-go with our backend as its only peer.
	peerPriv, peerPub := newKey(t)
	wgName := startPlainWireguardGo(t, bin, ns, peerPriv, ours)
	nsEchoServer(t, ns, nsServer) // on the TUN's address, which exists now

	if err := ours.b.ApplyPeers(context.Background(), hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{
		PublicKey:  peerPub,
		Endpoint:   netip.AddrPortFrom(interopNsVeth.Addr(), interopWGPort),
		AllowedIPs: []netip.Prefix{netip.PrefixFrom(interopPeerIP, 32)},
	}}}); err != nil {
		t.Fatalf("ApplyPeers: %v", err)
	}

	t.Run("namespace to exposed host service", func(t *testing.T) {
		var c net.Conn
		if err := ns.Do(func() (err error) {
			c, err = net.DialTimeout("tcp", netip.AddrPortFrom(interopOurIP, interopExposePort).String(), ioTimeout)
			return err
		}); err != nil {
			t.Fatalf("dial the exposed port from the namespace: %v", err)
		}
		defer c.Close()
		echoRoundTrip(t, c, "from wireguard-go to netstack")
		echoRoundTrip(t, c, strings.Repeat("x", 64<<10)) // many full-size packets
	})

	t.Run("host through forward to namespace server", func(t *testing.T) {
		c, err := net.DialTimeout("tcp", forward, ioTimeout)
		if err != nil {
			t.Fatalf("dial the forward %s: %v", forward, err)
		}
		defer c.Close()
		echoRoundTrip(t, c, "from netstack to wireguard-go")
		echoRoundTrip(t, c, strings.Repeat("y", 64<<10))
	})

	t.Run("both sides report the session", func(t *testing.T) {
		st, ok := peerState(t, ours, peerPub)
		if !ok {
			t.Fatal("netstack backend does not list the wireguard-go peer")
		}
		if st.LastHandshake.IsZero() || st.RxBytes == 0 || st.TxBytes == 0 {
			t.Errorf("netstack view of wireguard-go: got handshake %v rx %d tx %d, want a handshake and traffic both ways", st.LastHandshake, st.RxBytes, st.TxBytes)
		}

		ourKey := ours.pub.String()
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
	waitUntil(t, "wireguard-go's UAPI socket "+sock, 20*time.Second, func() bool {
		select {
		case <-p.Exited():
			t.Fatalf("wireguard-go exited: %s", p.Output())
		default:
		}
		_, err := os.Stat(sock)
		return err == nil
	})
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
	return name
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
