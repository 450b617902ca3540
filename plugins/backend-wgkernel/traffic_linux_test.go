package wgkernel

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/poll/polltest"
)

// The underlay between the two namespaces of a traffic test: a veth pair
// inside the guest (which has no network card), on the documentation
// prefix 192.0.2.0/24.
var (
	underlayA = netip.MustParsePrefix("192.0.2.1/24")
	underlayB = netip.MustParsePrefix("192.0.2.2/24")
)

// Tunnel addresses.
var (
	tunnelA = netip.MustParsePrefix("100.64.0.1/24")
	tunnelB = netip.MustParsePrefix("100.64.0.2/24")
)

const (
	portA    = 51820
	portB    = 51821
	echoPort = 7
)

// twoHosts returns two namespaces joined by a veth pair, ul0 with
// underlayA in the first and ul1 with underlayB in the second.
func twoHosts(t *testing.T) (a, b netns.NsHandle) {
	t.Helper()
	a, b = newNetNS(t), newNetNS(t)
	joinHosts(t, a, "ul0", underlayA, b, "ul1", underlayB)
	return a, b
}

// joinHosts joins namespaces a and b with a veth pair, nameA in a with
// addrA and nameB in b with addrB, both up.
func joinHosts(t *testing.T, a netns.NsHandle, nameA string, addrA netip.Prefix, b netns.NsHandle, nameB string, addrB netip.Prefix) {
	t.Helper()
	ha, err := netlink.NewHandleAt(a, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer ha.Close()
	hb, err := netlink.NewHandleAt(b, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer hb.Close()
	if err := ha.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: nameA}, PeerName: nameB}); err != nil {
		t.Fatal(err)
	}
	peer, err := ha.LinkByName(nameB)
	if err != nil {
		t.Fatal(err)
	}
	if err := ha.LinkSetNsFd(peer, int(b)); err != nil {
		t.Fatal(err)
	}
	for _, side := range []struct {
		h    *netlink.Handle
		name string
		addr netip.Prefix
	}{{ha, nameA, addrA}, {hb, nameB, addrB}} {
		link, err := side.h.LinkByName(side.name)
		if err != nil {
			t.Fatal(err)
		}
		if err := side.h.AddrAdd(link, &netlink.Addr{IPNet: prefixIPNet(side.addr)}); err != nil {
			t.Fatal(err)
		}
		if err := side.h.LinkSetUp(link); err != nil {
			t.Fatal(err)
		}
	}
}

func testTraffic(t *testing.T) {
	ctx := context.Background()
	nsA, nsB := twoHosts(t)
	ka, kb := newKeyPair(t), newKeyPair(t)
	a := newBackendIn(t, nsA, hostapi.InterfaceConfig{Name: "wga", PrivateKey: ka.priv, ListenPort: portA, Addresses: []netip.Prefix{tunnelA}})
	b := newBackendIn(t, nsB, hostapi.InterfaceConfig{Name: "wgb", PrivateKey: kb.priv, ListenPort: portB, Addresses: []netip.Prefix{tunnelB}})
	peerB := hostapi.PeerConfig{
		PublicKey:  kb.pub,
		Endpoint:   netip.AddrPortFrom(underlayB.Addr(), portB),
		AllowedIPs: []netip.Prefix{netip.PrefixFrom(tunnelB.Addr(), 32)},
	}
	peerA := hostapi.PeerConfig{
		PublicKey:  ka.pub,
		Endpoint:   netip.AddrPortFrom(underlayA.Addr(), portA),
		AllowedIPs: []netip.Prefix{netip.PrefixFrom(tunnelA.Addr(), 32)},
	}
	if err := a.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{peerB}}); err != nil {
		t.Fatal(err)
	}
	if err := b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{peerA}}); err != nil {
		t.Fatal(err)
	}

	// Real traffic both ways through the tunnel: UDP echo.
	udpEcho(t, nsB, netip.AddrPortFrom(tunnelB.Addr(), echoPort))
	udpEcho(t, nsA, netip.AddrPortFrom(tunnelA.Addr(), echoPort))
	if err := echoOnce(t, nsA, netip.AddrPortFrom(tunnelB.Addr(), echoPort), "a to b"); err != nil {
		t.Fatal(err)
	}
	if err := echoOnce(t, nsB, netip.AddrPortFrom(tunnelA.Addr(), echoPort), "b to a"); err != nil {
		t.Fatal(err)
	}
	stA := mustState(t, a)
	if len(stA.Peers) != 1 {
		t.Fatalf("A's peers: got %d, want 1", len(stA.Peers))
	}
	hs := stA.Peers[0]
	if hs.LastHandshake.IsZero() || hs.RxBytes == 0 || hs.TxBytes == 0 || hs.Endpoint != peerB.Endpoint {
		t.Fatalf("A's peer B after traffic: got handshake %v, rx %d, tx %d, endpoint %v; want a handshake, bytes both ways, endpoint %v",
			hs.LastHandshake, hs.RxBytes, hs.TxBytes, hs.Endpoint, peerB.Endpoint)
	}
	stB := mustState(t, b)
	if len(stB.Peers) != 1 || stB.Peers[0].LastHandshake.IsZero() || stB.Peers[0].RxBytes == 0 {
		t.Fatalf("B's peers after traffic: got %+v, want A with a handshake and received bytes", stB.Peers)
	}

	// A difference on A: a new peer C, and B's allowed IPs widened. B's
	// session must survive: same handshake, traffic without a new one.
	kc := newKeyPair(t)
	peerC := hostapi.PeerConfig{PublicKey: kc.pub, AllowedIPs: prefixList("100.64.0.3/32")}
	peerBWider := peerB
	peerBWider.AllowedIPs = prefixList("10.99.0.0/16", "100.64.0.2/32")
	if err := a.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{peerC, peerBWider}}); err != nil {
		t.Fatal(err)
	}
	if err := echoOnce(t, nsA, netip.AddrPortFrom(tunnelB.Addr(), echoPort), "after the difference"); err != nil {
		t.Fatal(err)
	}
	after := mustState(t, a)
	wantPeers := sortPeers([]hostapi.PeerConfig{peerBWider, peerC})
	if diff := cmp.Diff(wantPeers, configuredPeers(after), netipComparers); diff != "" {
		t.Fatalf("A's peers after the difference (-want +got):\n%s", diff)
	}
	for _, p := range after.Peers {
		if p.PublicKey == kb.pub && !p.LastHandshake.Equal(hs.LastHandshake) {
			t.Errorf("B's handshake: got %v, want %v (the session must survive an update)", p.LastHandshake, hs.LastHandshake)
		}
	}

	// RemovePeers is immediate: once it returns, A has no key for B's
	// address, so sending there fails at once with ENOKEY.
	if err := a.RemovePeers(ctx, []hostapi.Key{kb.pub}); err != nil {
		t.Fatal(err)
	}
	st := mustState(t, a)
	if len(st.Peers) != 1 || st.Peers[0].PublicKey != kc.pub {
		t.Fatalf("A's peers after RemovePeers: got %v, want only C", configuredPeers(st))
	}
	var sendErr error
	inNetNS(t, nsA, func() {
		conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(tunnelB.Addr(), echoPort)))
		if err != nil {
			sendErr = err
			return
		}
		defer conn.Close()
		_, sendErr = conn.Write([]byte("to a removed peer"))
	})
	if !errors.Is(sendErr, unix.ENOKEY) {
		t.Errorf("sending to a removed peer's address: got %v, want ENOKEY", sendErr)
	}
}

// testInteropWireGuardGo runs a tunnel between this backend and the plain
// wireguard-go command (on a TUN device), configured and read entirely by
// the standard tools, not by our code: wg over wireguard-go's UAPI socket,
// iproute2's ip for the address and link.
func testInteropWireGuardGo(t *testing.T) {
	ctx := context.Background()
	nsA, nsB := twoHosts(t)
	ka, kb := newKeyPair(t), newKeyPair(t)
	a := newBackendIn(t, nsA, hostapi.InterfaceConfig{Name: "wga", PrivateKey: ka.priv, ListenPort: portA, Addresses: []netip.Prefix{tunnelA}})

	const goName = "wggo0"
	startWireGuardGo(t, nsB, goName)
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte(kb.priv.Base64()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runIn(t, nsB, "wg", "set", goName, "private-key", keyFile, "listen-port", strconv.Itoa(portB),
		"peer", ka.pub.String(),
		"endpoint", netip.AddrPortFrom(underlayA.Addr(), portA).String(),
		"allowed-ips", netip.PrefixFrom(tunnelA.Addr(), 32).String())
	runIn(t, nsB, "ip", "addr", "add", tunnelB.String(), "dev", goName)
	runIn(t, nsB, "ip", "link", "set", goName, "up")
	if got := runIn(t, nsB, "wg", "show", goName, "public-key"); got != kb.pub.String() {
		t.Fatalf("wg show %s public-key: got %q, want %q", goName, got, kb.pub)
	}

	err := a.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{
		PublicKey:  kb.pub,
		Endpoint:   netip.AddrPortFrom(underlayB.Addr(), portB),
		AllowedIPs: []netip.Prefix{netip.PrefixFrom(tunnelB.Addr(), 32)},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	udpEcho(t, nsB, netip.AddrPortFrom(tunnelB.Addr(), echoPort))
	udpEcho(t, nsA, netip.AddrPortFrom(tunnelA.Addr(), echoPort))
	if err := echoOnce(t, nsA, netip.AddrPortFrom(tunnelB.Addr(), echoPort), "kernel to wireguard-go"); err != nil {
		t.Fatal(err)
	}
	if err := echoOnce(t, nsB, netip.AddrPortFrom(tunnelA.Addr(), echoPort), "wireguard-go to kernel"); err != nil {
		t.Fatal(err)
	}
	st := mustState(t, a)
	if len(st.Peers) != 1 || st.Peers[0].LastHandshake.IsZero() || st.Peers[0].RxBytes == 0 || st.Peers[0].TxBytes == 0 {
		t.Fatalf("kernel side after traffic: got %+v, want the wireguard-go peer with a handshake and bytes both ways", st.Peers)
	}
	// wireguard-go's view, through wg show: one line per peer of
	// key, preshared key, endpoint, allowed IPs, handshake, rx, tx, keepalive.
	dump := strings.Split(runIn(t, nsB, "wg", "show", goName, "dump"), "\n")
	if len(dump) != 2 {
		t.Fatalf("wg show %s dump: got %q, want the interface and one peer", goName, dump)
	}
	f := strings.Split(dump[1], "\t")
	if len(f) != 8 || f[0] != ka.pub.String() || f[2] != netip.AddrPortFrom(underlayA.Addr(), portA).String() || f[4] == "0" || f[5] == "0" || f[6] == "0" {
		t.Fatalf("wg show %s dump, peer line: got %q, want the kernel peer %v at %v with a handshake and bytes both ways", goName, f, ka.pub, netip.AddrPortFrom(underlayA.Addr(), portA))
	}
}

// runIn runs a command inside ns (it starts in the namespace of the
// thread that forks it), fails the test if it fails, and returns its
// output, trimmed.
func runIn(t *testing.T, ns netns.NsHandle, name string, args ...string) string {
	t.Helper()
	var out []byte
	var err error
	inNetNS(t, ns, func() { out, err = exec.Command(name, args...).CombinedOutput() })
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// startWireGuardGo runs wireguard-go in the foreground in ns with a TUN
// interface name, waits for its UAPI socket, and stops it when the test
// ends.
func startWireGuardGo(t *testing.T, ns netns.NsHandle, name string) {
	t.Helper()
	cmd := exec.Command(guestWireGuardGo, "-f", name)
	cmd.Env = append(os.Environ(), "LOG_LEVEL=error", "WG_PROCESS_FOREGROUND=1")
	cmd.Stdout = testWriter{t}
	cmd.Stderr = testWriter{t}
	var err error
	// A child starts in the namespace of the thread that forks it.
	inNetNS(t, ns, func() { err = cmd.Start() })
	if err != nil {
		t.Fatalf("starting wireguard-go: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})

	sock := "/var/run/wireguard/" + name + ".sock"
	polltest.Until(t, "wireguard-go's UAPI socket "+sock, 30*time.Second, 20*time.Millisecond, func() bool {
		select {
		case err := <-exited:
			t.Fatalf("wireguard-go exited before creating %s: %v", sock, err)
		default:
		}
		_, err := os.Stat(sock)
		return err == nil
	})
}
