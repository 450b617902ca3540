package wgkernel

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/echoserver"
	"github.com/rustynet/rustynet/internal/netnamespace"
	"github.com/rustynet/rustynet/plugins/internal/hostroute"
)

// netipComparers let cmp compare the netip types, which have unexported
// fields.
var netipComparers = cmp.Options{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
	cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b }),
}

// testLogger sends the backend's logs to the test's log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Logf("%s", p)
	return len(p), nil
}

// keyPair is a WireGuard key pair in hostapi's types.
type keyPair struct {
	priv hostapi.PrivateKey
	pub  hostapi.Key
}

func newKeyPair(t *testing.T) keyPair {
	t.Helper()
	k, err := wgtypes.GeneratePrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{priv: hostapi.PrivateKey(k), pub: hostapi.Key(k.PublicKey())}
}

// newNetNS returns a new network namespace with lo up
// (netnamespace.New), deleted when the test ends (the kernel frees it, and
// every interface in it, with the last reference).
func newNetNS(t *testing.T) netns.NsHandle {
	t.Helper()
	ns, err := netnamespace.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ns.Close() })
	return ns
}

// inNetNS runs f on a thread that is in ns for as long as f runs
// (netnamespace.Do). Sockets and netlink handles f opens stay in ns.
func inNetNS(t *testing.T, ns netns.NsHandle, f func()) {
	t.Helper()
	if err := netnamespace.Do(ns, func() error { f(); return nil }); err != nil {
		t.Fatal(err)
	}
}

// newBackendIn returns a backend configured with cfg in ns, closed when
// the test ends.
func newBackendIn(t *testing.T, ns netns.NsHandle, cfg hostapi.InterfaceConfig) *Backend {
	t.Helper()
	b := New(testLogger(t))
	var err error
	inNetNS(t, ns, func() { err = b.Configure(context.Background(), cfg) })
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

// mustState returns b's state or fails the test.
func mustState(t *testing.T, b *Backend) hostapi.InterfaceState {
	t.Helper()
	st, err := b.State(context.Background())
	if err != nil {
		t.Fatalf("State: %v", err)
	}
	return st
}

// configuredPeers is the configured part of State's peers, without live
// statistics and endpoints (which roam), for comparisons.
func configuredPeers(st hostapi.InterfaceState) []hostapi.PeerConfig {
	out := make([]hostapi.PeerConfig, 0, len(st.Peers))
	for _, p := range st.Peers {
		out = append(out, hostapi.PeerConfig{
			PublicKey:           p.PublicKey,
			Endpoint:            p.Endpoint,
			AllowedIPs:          p.AllowedIPs,
			PersistentKeepalive: p.PersistentKeepalive,
		})
	}
	return out
}

// linkIn returns the interface named name in ns.
func linkIn(t *testing.T, ns netns.NsHandle, name string) (netlink.Link, error) {
	t.Helper()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	return h.LinkByName(name)
}

// wantCode fails the test unless err carries code.
func wantCode(t *testing.T, what string, err error, code hostapi.Code) {
	t.Helper()
	if got := hostapi.CodeOf(err); got != code {
		t.Errorf("%s: got error %v (code %v), want code %v", what, err, got, code)
	}
}

// udpEcho serves UDP echo (package echoserver) on addr inside ns until the
// test ends.
func udpEcho(t *testing.T, ns netns.NsHandle, addr netip.AddrPort) {
	t.Helper()
	var pc net.PacketConn
	var err error
	inNetNS(t, ns, func() { pc, err = net.ListenPacket("udp", addr.String()) })
	if err != nil {
		t.Fatalf("listening on %v: %v", addr, err)
	}
	u := echoserver.ServeUDP(pc)
	t.Cleanup(func() { _ = u.Close() })
}

// Echo exchange limits: an attempt waits echoAttempt for the reply (the
// first also carries the handshake, slow under emulation); the exchange
// gives up after echoTotal.
const (
	echoAttempt = 3 * time.Second
	echoTotal   = 60 * time.Second
)

// echoOnce sends a datagram from ns to the echo server at to and waits for
// it to come back, resending until echoTotal has passed.
func echoOnce(t *testing.T, ns netns.NsHandle, to netip.AddrPort, msg string) error {
	t.Helper()
	got, err := exchange(t, ns, to, msg, echoTotal)
	if err != nil {
		return err
	}
	if got != msg {
		return errors.New("echo: got " + got + ", want " + msg)
	}
	return nil
}

// exchange sends msg from ns to the UDP server at to and returns its
// answer, resending every echoAttempt until total has passed.
func exchange(t *testing.T, ns netns.NsHandle, to netip.AddrPort, msg string, total time.Duration) (string, error) {
	t.Helper()
	var conn *net.UDPConn
	var err error
	inNetNS(t, ns, func() { conn, err = net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(to)) })
	if err != nil {
		return "", err
	}
	defer conn.Close()
	deadline := time.Now().Add(total)
	buf := make([]byte, 2048)
	for time.Now().Before(deadline) {
		if _, err := conn.Write([]byte(msg)); err != nil {
			return "", err
		}
		wait := time.Now().Add(echoAttempt)
		if wait.After(deadline) {
			wait = deadline
		}
		if err := conn.SetReadDeadline(wait); err != nil {
			return "", err
		}
		n, err := conn.Read(buf)
		var netErr net.Error
		if errors.As(err, &netErr) && netErr.Timeout() {
			continue
		}
		if err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return "", errors.New("no reply from " + to.String() + " within " + total.String())
}

// udpWhoami serves, on addr inside ns until the test ends, the address
// every datagram comes from.
func udpWhoami(t *testing.T, ns netns.NsHandle, addr netip.AddrPort) {
	t.Helper()
	var conn *net.UDPConn
	var err error
	inNetNS(t, ns, func() { conn, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr)) })
	if err != nil {
		t.Fatalf("listening on %v: %v", addr, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			_, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			_, _ = conn.WriteToUDPAddrPort([]byte(from.Addr().Unmap().String()), from)
		}
	}()
	t.Cleanup(func() {
		_ = conn.Close()
		<-done
	})
}

// sysctlIn reads the sysctl at path (under /proc/sys, e.g.
// net/ipv4/ip_forward) inside ns.
func sysctlIn(t *testing.T, ns netns.NsHandle, path string) string {
	t.Helper()
	var b []byte
	var err error
	inNetNS(t, ns, func() { b, err = os.ReadFile("/proc/sys/" + path) })
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// setSysctlIn writes v to the sysctl at path inside ns.
func setSysctlIn(t *testing.T, ns netns.NsHandle, path, v string) {
	t.Helper()
	var err error
	inNetNS(t, ns, func() { err = os.WriteFile("/proc/sys/"+path, []byte(v+"\n"), 0) })
	if err != nil {
		t.Fatal(err)
	}
}

// nftChains lists the chains of the nftables table of interface name in
// ns: "CHAIN RULES" for each, sorted; nil without a table.
func nftChains(t *testing.T, ns netns.NsHandle, name string) []string {
	t.Helper()
	var out []string
	var err error
	inNetNS(t, ns, func() {
		var c *nftables.Conn
		if c, err = nftables.New(); err != nil {
			return
		}
		table := &nftables.Table{Name: hostroute.TableName(name), Family: nftables.TableFamilyINet}
		var chains []*nftables.Chain
		if chains, err = c.ListChainsOfTableFamily(nftables.TableFamilyINet); err != nil {
			return
		}
		for _, ch := range chains {
			if ch.Table.Name != table.Name {
				continue
			}
			var rules []*nftables.Rule
			if rules, err = c.GetRules(table, ch); err != nil {
				return
			}
			out = append(out, ch.Name+" "+strconv.Itoa(len(rules)))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// firewallMark reads the firewall mark of b's WireGuard device from the
// kernel.
func firewallMark(t *testing.T, b *Backend) int {
	t.Helper()
	d, err := b.dev.wg.Device(b.dev.iface.name)
	if err != nil {
		t.Fatal(err)
	}
	return d.FirewallMark
}
