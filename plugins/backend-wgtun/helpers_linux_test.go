package wgtun

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/curve25519"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/lockedbuf"
	"github.com/rustynet/rustynet/internal/netnstest"
	"github.com/rustynet/rustynet/internal/poll/polltest"
	"github.com/rustynet/rustynet/plugins/internal/hostroute"
)

// wgPort is the UDP port every node listens on (each in its own namespace).
const wgPort = 51820

// keyPair is a WireGuard key pair.
type keyPair struct {
	priv hostapi.PrivateKey
	pub  hostapi.Key
}

func newKey() keyPair {
	var kp keyPair
	if _, err := rand.Read(kp.priv[:]); err != nil {
		panic(err)
	}
	// Clamp as wg genkey does.
	kp.priv[0] &= 248
	kp.priv[31] = kp.priv[31]&127 | 64
	pub, err := curve25519.X25519(kp.priv[:], curve25519.Basepoint)
	if err != nil {
		panic(err)
	}
	copy(kp.pub[:], pub)
	return kp
}

// node is one end of a test tunnel: a namespace with a veth address, a key
// pair, a tunnel address and an interface name.
type node struct {
	ns       *netnstest.Namespace
	underlay netip.Addr   // veth address
	tunAddr  netip.Prefix // address inside the tunnel (/32)
	key      keyPair
	name     string // WireGuard interface name
}

// endpoint is where the node's WireGuard listens.
func (n *node) endpoint() netip.AddrPort { return netip.AddrPortFrom(n.underlay, wgPort) }

// peerConfig is n as a peer of the other node.
func (n *node) peerConfig() hostapi.PeerConfig {
	return hostapi.PeerConfig{
		PublicKey:  n.key.pub,
		Endpoint:   n.endpoint(),
		AllowedIPs: []netip.Prefix{n.tunAddr},
	}
}

// ifaceConfig is the interface configuration of n.
func (n *node) ifaceConfig() hostapi.InterfaceConfig {
	return hostapi.InterfaceConfig{
		Name:       n.name,
		PrivateKey: n.key.priv,
		ListenPort: wgPort,
		Addresses:  []netip.Prefix{n.tunAddr},
		UAPI:       true,
	}
}

// topology makes two namespaces joined by a veth pair (10.99.1.1 and
// 10.99.1.2) and two nodes with tunnel addresses 198.18.0.1 and 198.18.0.2.
func topology(t testing.TB) (a, b *node) {
	t.Helper()
	nsA, nsB := netnstest.New(t), netnstest.New(t)
	v := netnstest.Connect(t, nsA, netip.MustParsePrefix("10.99.1.1/24"), nsB, netip.MustParsePrefix("10.99.1.2/24"))
	a = &node{ns: nsA, underlay: v.AddrA.Addr(), tunAddr: netip.MustParsePrefix("198.18.0.1/32"), key: newKey(), name: netnstest.UniqueName("wga")}
	b = &node{ns: nsB, underlay: v.AddrB.Addr(), tunAddr: netip.MustParsePrefix("198.18.0.2/32"), key: newKey(), name: netnstest.UniqueName("wgb")}
	return a, b
}

// launch starts this package's backend as a real plugin process inside ns,
// through hostapi.LaunchBackend as the daemon does. The plugin is killed
// (closing the backend) in t.Cleanup, and its log printed if t failed.
func launch(t testing.TB, ns *netnstest.Namespace) *hostapi.BackendClient {
	t.Helper()
	argv, env, err := ns.ChildArgs(childPlugin)
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedbuf.Buffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("plugin log (%s):\n%s", ns.Name, logs.String())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c, err := hostapi.LaunchBackend(ctx, hostapi.LaunchConfig{
		Path: argv[0],
		Args: argv[1:],
		// A data race in the plugin ends it, so the test fails.
		Env:    append(env, "GORACE=halt_on_error=1"),
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		// Generous: the test binary starts slowly on a loaded machine.
		StartTimeout: 60 * time.Second,
	})
	if err != nil {
		t.Fatalf("launch wgtun plugin in %s: %v", ns.Name, err)
	}
	t.Cleanup(func() {
		c.Kill()
		<-c.Done()
	})
	return c
}

// configurePair configures backends on a and b as each other's only peer,
// with a route to the peer's tunnel address.
func configurePair(t testing.TB, a, b *node, ba, bb hostapi.Backend) {
	t.Helper()
	configureTowards(t, a, b, ba)
	configureTowards(t, b, a, bb)
}

// configureTowards configures backend bn of node n with peer as its only
// peer and a route to the peer's tunnel address.
func configureTowards(t testing.TB, n, peer *node, bn hostapi.Backend) {
	t.Helper()
	ctx := context.Background()
	if err := bn.Configure(ctx, n.ifaceConfig()); err != nil {
		t.Fatalf("Configure %s: %v", n.name, err)
	}
	if err := bn.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{peer.peerConfig()}}); err != nil {
		t.Fatalf("ApplyPeers %s: %v", n.name, err)
	}
	if err := bn.ApplyRoutes(ctx, hostapi.RouteChanges{Add: []netip.Prefix{peer.tunAddr}}); err != nil {
		t.Fatalf("ApplyRoutes %s: %v", n.name, err)
	}
}

// launchTowards launches the wgtun plugin in a's namespace and configures
// it with peer as its only peer.
func launchTowards(t testing.TB, a, peer *node) *hostapi.BackendClient {
	t.Helper()
	c := launch(t, a.ns)
	configureTowards(t, a, peer, c)
	return c
}

// dial connects from inside ns to to.
func dial(t testing.TB, ns *netnstest.Namespace, to netip.AddrPort) net.Conn {
	t.Helper()
	var c net.Conn
	if err := ns.Do(func() (err error) {
		c, err = net.DialTimeout("tcp", to.String(), 20*time.Second)
		return err
	}); err != nil {
		t.Fatalf("dial %v from %s: %v", to, ns.Name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// echo sends msg on c and reads it back within timeout.
func echo(c net.Conn, msg string, timeout time.Duration) error {
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	if _, err := io.WriteString(c, msg+"\n"); err != nil {
		return err
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if got != msg+"\n" {
		return errors.New("echo: got " + got + ", want " + msg)
	}
	return nil
}

// mustEcho fails t unless msg makes the round trip.
func mustEcho(t testing.TB, c net.Conn, msg string) {
	t.Helper()
	if err := echo(c, msg, 20*time.Second); err != nil {
		t.Fatalf("echo %q over the tunnel: %v", msg, err)
	}
}

// startWireguardGo runs plain wireguard-go for n inside n's namespace and
// configures it with the standard tools (wg set, ip) with peer as its only
// peer.
func startWireguardGo(t testing.TB, bin string, n, peer *node) *netnstest.Process {
	t.Helper()
	requireTool(t, "wg")
	p := n.ns.Start(t, "env", "LOG_LEVEL=verbose", bin, "-f", n.name)
	sock := "/var/run/wireguard/" + n.name + ".sock"
	polltest.Until(t, "wireguard-go's UAPI socket "+sock, 20*time.Second, 20*time.Millisecond, func() bool {
		select {
		case <-p.Exited():
			t.Fatalf("wireguard-go exited: %s", p.Output())
		default:
		}
		_, err := os.Stat(sock)
		return err == nil
	})
	configureWithTools(t, n, peer)
	return p
}

// configureWithTools configures the existing WireGuard interface n.name
// (kernel or userspace) inside n's namespace with the standard tools only:
// wg set for n's private key, listen port and peer as its only peer (its
// endpoint and tunnel address), then ip for n's tunnel address, the link
// state and a route to peer.
func configureWithTools(t testing.TB, n, peer *node) {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte(n.key.priv.Base64()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	n.ns.Run(t, "wg", "set", n.name, "private-key", keyFile, "listen-port", strconv.Itoa(wgPort),
		"peer", peer.key.pub.String(), "endpoint", peer.endpoint().String(), "allowed-ips", peer.tunAddr.String())
	n.ns.Run(t, "ip", "addr", "add", n.tunAddr.String(), "dev", n.name)
	n.ns.Run(t, "ip", "link", "set", n.name, "up")
	n.ns.Run(t, "ip", "route", "add", peer.tunAddr.String(), "dev", n.name)
}

// requireTool skips t if a tool the test drives is not installed.
func requireTool(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed (apt-get install wireguard-tools): %v", name, err)
	}
}

// wgShow runs `wg show` with args inside ns.
func wgShow(t testing.TB, ns *netnstest.Namespace, args ...string) string {
	t.Helper()
	requireTool(t, "wg")
	return strings.TrimSpace(ns.Run(t, "wg", append([]string{"show"}, args...)...))
}

// ownRoutes lists, with `ip route`, the routes through dev in ns that carry
// the backends' routing protocol, in every table, sorted.
func ownRoutes(t testing.TB, ns *netnstest.Namespace, dev string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, family := range []string{"-4", "-6"} {
		text := ns.Run(t, "ip", family, "route", "show", "table", "all", "dev", dev, "proto", strconv.Itoa(hostroute.Protocol))
		for line := range strings.Lines(text) {
			f := strings.Fields(line)
			if len(f) == 0 {
				continue
			}
			dst := f[0]
			switch {
			case dst == "default" && family == "-4":
				dst = "0.0.0.0/0"
			case dst == "default":
				dst = "::/0"
			case !strings.Contains(dst, "/"):
				a, err := netip.ParseAddr(dst)
				if err != nil {
					t.Fatalf("ip route: %q: %v", line, err)
				}
				dst = netip.PrefixFrom(a, a.BitLen()).String()
			}
			p, err := netip.ParsePrefix(dst)
			if err != nil {
				t.Fatalf("ip route: %q: %v", line, err)
			}
			out = append(out, p)
		}
	}
	slices.SortFunc(out, netip.Prefix.Compare)
	return out
}
