package wgtun

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/netnstest"
	"github.com/rustynet/rustynet/internal/testbin"
	"github.com/rustynet/rustynet/plugins/internal/hostroute"
)

// TestTunnel runs two wgtun plugins in two namespaces joined by a veth pair
// and checks, in order on one tunnel: the handshake and TCP traffic,
// statistics, the interface as the kernel sees it, routes, `wg show`
// through the UAPI socket, an update by difference that keeps the session,
// RemovePeers cutting traffic at once, and Close removing the interface.
func TestTunnel(t *testing.T) {
	netnstest.Require(t)
	a, b := topology(t)
	ba, bb := launch(t, a.ns), launch(t, b.ns)
	configurePair(t, a, b, ba, bb)
	ctx := context.Background()

	srv := b.ns.EchoTCP(t, netip.AddrPortFrom(b.tunAddr.Addr(), 0))
	conn := dial(t, a.ns, srv)
	mustEcho(t, conn, "first packet through wgtun")

	t.Run("state", func(t *testing.T) {
		st, err := ba.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Name != a.name || st.PublicKey != a.key.pub || st.ListenPort != wgPort {
			t.Errorf("State: got name %q key %v port %d; want %q %v %d", st.Name, st.PublicKey, st.ListenPort, a.name, a.key.pub, wgPort)
		}
		if diff := cmp.Diff([]netip.Prefix{a.tunAddr}, st.Addresses, cmp.Comparer(func(x, y netip.Prefix) bool { return x == y })); diff != "" {
			t.Errorf("State addresses (-want +got):\n%s", diff)
		}
		if len(st.Peers) != 1 {
			t.Fatalf("State: got %d peers, want 1", len(st.Peers))
		}
		p := st.Peers[0]
		if p.PublicKey != b.key.pub || p.Endpoint != b.endpoint() || p.LastHandshake.IsZero() || p.RxBytes == 0 || p.TxBytes == 0 {
			t.Errorf("peer state: got %+v; want key %v, endpoint %v, a handshake and traffic both ways", p, b.key.pub, b.endpoint())
		}
	})

	t.Run("kernel view", func(t *testing.T) {
		nl := a.ns.Netlink(t)
		link, err := nl.LinkByName(a.name)
		if err != nil {
			t.Fatal(err)
		}
		attrs := link.Attrs()
		if attrs.MTU != defaultMTU || attrs.Flags&net.FlagUp == 0 || link.Type() != "tuntap" {
			t.Errorf("link %s: got type %s mtu %d flags %v; want tuntap, %d, up", a.name, link.Type(), attrs.MTU, attrs.Flags, defaultMTU)
		}
		addrs, err := nl.AddrList(link, netlink.FAMILY_V4)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ad := range addrs {
			got = append(got, ad.IPNet.String())
		}
		if diff := cmp.Diff([]string{a.tunAddr.String()}, got); diff != "" {
			t.Errorf("addresses of %s (-want +got):\n%s", a.name, diff)
		}
	})

	t.Run("routes", func(t *testing.T) {
		// A route of the operator's with a prefix the backend is asked for
		// too: it must survive the backend adding and removing its own.
		a.ns.Run(t, "ip", "route", "add", "198.19.0.0/16", "dev", a.name)
		steps := []struct {
			name   string
			change hostapi.RouteChanges
			want   []netip.Prefix
		}{
			{"add", hostapi.RouteChanges{Add: pfx("198.19.0.0/16", "fd00:99::/64", "198.20.0.0/16")},
				pfx("198.18.0.2/32", "198.19.0.0/16", "198.20.0.0/16", "fd00:99::/64")},
			{"by difference", hostapi.RouteChanges{Remove: pfx("198.19.0.0/16", "198.21.0.0/16"), Add: pfx("198.19.128.0/17", "198.20.0.0/16")},
				pfx("198.18.0.2/32", "198.19.128.0/17", "198.20.0.0/16", "fd00:99::/64")},
			{"remove", hostapi.RouteChanges{Remove: pfx("198.19.128.0/17", "198.20.0.0/16", "fd00:99::/64")},
				pfx("198.18.0.2/32")},
		}
		for _, s := range steps {
			if err := ba.ApplyRoutes(ctx, s.change); err != nil {
				t.Fatalf("%s: ApplyRoutes: %v", s.name, err)
			}
			st, err := ba.State(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(s.want, st.Routes, prefixCmp); diff != "" {
				t.Errorf("%s: State routes (-want +got):\n%s", s.name, diff)
			}
			if diff := cmp.Diff(s.want, ownRoutes(t, a.ns, a.name), prefixCmp); diff != "" {
				t.Errorf("%s: ip route's routes with protocol %d via %s (-want +got):\n%s", s.name, hostroute.Protocol, a.name, diff)
			}
			if got := a.ns.Run(t, "ip", "route", "show", "198.19.0.0/16", "dev", a.name, "proto", "boot"); !strings.Contains(got, "198.19.0.0/16") {
				t.Errorf("%s: the operator's route 198.19.0.0/16 is gone", s.name)
			}
		}
		// The tunnel still works over the route the backend installed.
		mustEcho(t, conn, "after routes")
	})

	t.Run("wg show", func(t *testing.T) {
		if got := wgShow(t, a.ns, a.name, "peers"); got != b.key.pub.String() {
			t.Errorf("wg show %s peers: got %q, want %q", a.name, got, b.key.pub)
		}
		if got := wgShow(t, a.ns, a.name, "public-key"); got != a.key.pub.String() {
			t.Errorf("wg show %s public-key: got %q, want %q", a.name, got, a.key.pub)
		}
		if got := wgShow(t, a.ns, a.name, "endpoints"); got != b.key.pub.String()+"\t"+b.endpoint().String() {
			t.Errorf("wg show %s endpoints: got %q", a.name, got)
		}
		hs := strings.Fields(wgShow(t, a.ns, a.name, "latest-handshakes"))
		if len(hs) != 2 || hs[1] == "0" {
			t.Errorf("wg show %s latest-handshakes: got %q, want a handshake", a.name, hs)
		}
		// The socket is read-only: wg set is refused and changes nothing.
		intruder := newKey().pub
		out, err := a.ns.Output(ctx, "wg", "set", a.name, "peer", intruder.String(), "allowed-ips", "198.18.9.9/32")
		if err == nil {
			t.Errorf("wg set through the UAPI socket: got success (%q), want a refusal", out)
		}
		st, err := ba.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Peers) != 1 || st.Peers[0].PublicKey != b.key.pub {
			t.Errorf("peers after a refused wg set: got %+v, want only %v", st.Peers, b.key.pub)
		}
	})

	t.Run("update keeps session", func(t *testing.T) {
		before := peerState(t, ba, b.key.pub)
		upd := b.peerConfig()
		upd.AllowedIPs = append(upd.AllowedIPs, netip.MustParsePrefix("198.19.77.0/24"))
		upd.PersistentKeepalive = 25 * time.Second
		upd.Endpoint = netip.AddrPort{} // zero: keep the current endpoint
		if err := ba.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{upd}}); err != nil {
			t.Fatal(err)
		}
		mustEcho(t, conn, "after an update in place")
		after := peerState(t, ba, b.key.pub)
		if !after.LastHandshake.Equal(before.LastHandshake) {
			t.Errorf("last handshake: got %v, want %v unchanged (the session must survive)", after.LastHandshake, before.LastHandshake)
		}
		if after.Endpoint != b.endpoint() || after.PersistentKeepalive != upd.PersistentKeepalive || len(after.AllowedIPs) != 2 {
			t.Errorf("updated peer: got %+v", after)
		}
		if got := wgShow(t, a.ns, a.name, "allowed-ips"); !strings.Contains(got, "198.19.77.0/24") {
			t.Errorf("wg show allowed-ips: got %q, want the new prefix", got)
		}
	})

	t.Run("remove cuts traffic", func(t *testing.T) {
		rxBefore := peerState(t, bb, a.key.pub).RxBytes
		if err := ba.RemovePeers(ctx, []hostapi.Key{b.key.pub}); err != nil {
			t.Fatal(err)
		}
		st, err := ba.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Peers) != 0 {
			t.Errorf("peers after RemovePeers: got %d, want 0", len(st.Peers))
		}
		err = echo(conn, "must not arrive", 2*time.Second)
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("echo after RemovePeers: got %v, want a timeout", err)
		}
		if rx := peerState(t, bb, a.key.pub).RxBytes; rx != rxBefore {
			t.Errorf("bytes %s received from the removed side: got %d, want %d unchanged", b.name, rx, rxBefore)
		}
	})

	t.Run("close removes interface", func(t *testing.T) {
		if err := ba.Close(ctx); err != nil {
			t.Fatal(err)
		}
		var nf netlink.LinkNotFoundError
		if _, err := a.ns.Netlink(t).LinkByName(a.name); !errors.As(err, &nf) {
			t.Errorf("link %s after Close: got %v, want it gone", a.name, err)
		}
		if _, err := os.Stat("/var/run/wireguard/" + a.name + ".sock"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("UAPI socket after Close: got %v, want it gone", err)
		}
		if _, err := ba.State(ctx); !errors.Is(err, hostapi.ErrClosed) {
			t.Errorf("State after Close: got %v, want ErrClosed", err)
		}
		if err := ba.Close(ctx); err != nil {
			t.Errorf("second Close: got %v, want nil", err)
		}
	})
}

// peerState returns the state of peer key on backend b.
func peerState(t testing.TB, b hostapi.Backend, key hostapi.Key) hostapi.PeerState {
	t.Helper()
	st, err := b.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range st.Peers {
		if p.PublicKey == key {
			return p
		}
	}
	t.Fatalf("no peer %v in %+v", key, st.Peers)
	return hostapi.PeerState{}
}

// TestConfigureUpdate changes a live interface's MTU and addresses and turns
// the UAPI socket off, checking the kernel's view after each step.
func TestConfigureUpdate(t *testing.T) {
	netnstest.Require(t)
	a, _ := topology(t)
	ba := launch(t, a.ns)
	ctx := context.Background()
	cfg := a.ifaceConfig()
	if err := ba.Configure(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	nl := a.ns.Netlink(t)

	cfg.MTU = 1380
	cfg.Addresses = []netip.Prefix{netip.MustParsePrefix("198.18.5.1/24"), netip.MustParsePrefix("fd00:5::1/64")}
	cfg.UAPI = false
	if err := ba.Configure(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	link, err := nl.LinkByName(a.name)
	if err != nil {
		t.Fatal(err)
	}
	if link.Attrs().MTU != 1380 {
		t.Errorf("MTU: got %d, want 1380", link.Attrs().MTU)
	}
	st, err := ba.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(cfg.Addresses, st.Addresses, cmp.Comparer(func(x, y netip.Prefix) bool { return x == y })); diff != "" {
		t.Errorf("addresses after update (-want +got):\n%s", diff)
	}
	if _, err := os.Stat("/var/run/wireguard/" + a.name + ".sock"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("UAPI socket after turning it off: got %v, want it gone", err)
	}

	// A failing update changes nothing: renaming is refused.
	bad := cfg
	bad.Name = "other0"
	bad.MTU = 1300
	if err := ba.Configure(ctx, bad); !errors.Is(err, hostapi.ErrInvalidArgument) {
		t.Errorf("rename: got %v, want ErrInvalidArgument", err)
	}
	if link, err := nl.LinkByName(a.name); err != nil || link.Attrs().MTU != 1380 {
		t.Errorf("after a refused update: got %v, %v; want MTU 1380 unchanged", link, err)
	}
}

// TestInteropWithWireguardGo carries traffic between wgtun and a plain
// wireguard-go configured with the standard wg and ip tools.
func TestInteropWithWireguardGo(t *testing.T) {
	netnstest.Require(t)
	requireTool(t, "wg")
	bin := testbin.Package(t, "golang.zx2c4.com/wireguard", "wireguard-go")
	a, b := topology(t)
	ba := launchTowards(t, a, b)
	startWireguardGo(t, bin, b, a)

	// Both directions: wgtun dials wireguard-go, and wireguard-go's side
	// dials wgtun.
	mustEcho(t, dial(t, a.ns, b.ns.EchoTCP(t, netip.AddrPortFrom(b.tunAddr.Addr(), 0))), "wgtun to wireguard-go")
	mustEcho(t, dial(t, b.ns, a.ns.EchoTCP(t, netip.AddrPortFrom(a.tunAddr.Addr(), 0))), "wireguard-go to wgtun")

	if p := peerState(t, ba, b.key.pub); p.LastHandshake.IsZero() || p.RxBytes == 0 {
		t.Errorf("wgtun's view of the wireguard-go peer: got %+v, want a handshake and traffic", p)
	}
	hs := strings.Fields(wgShow(t, b.ns, b.name, "latest-handshakes"))
	if len(hs) != 2 || hs[0] != a.key.pub.String() || hs[1] == "0" {
		t.Errorf("wireguard-go's latest-handshakes: got %q, want one with %v", hs, a.key.pub)
	}
}

// TestProbeWithoutNetAdmin runs Probe and Configure in a process without
// CAP_NET_ADMIN: both must report a permission error and create nothing.
func TestProbeWithoutNetAdmin(t *testing.T) {
	netnstest.Require(t)
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) is needed to drop CAP_NET_ADMIN: " + err.Error())
	}
	ns := netnstest.New(t)
	argv, env, err := ns.ChildArgs(childProbe)
	if err != nil {
		t.Fatal(err)
	}
	// ip netns exec needs CAP_SYS_ADMIN, not CAP_NET_ADMIN; the child
	// inherits the reduced bounding set.
	cmd := exec.Command(setpriv, append([]string{"--bounding-set=-net_admin", "--inh-caps=-net_admin"}, argv...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("probe child: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	want := hostapi.CodePermission.String() + " " + hostapi.CodePermission.String()
	if got := strings.TrimSpace(string(out)); got != want {
		t.Errorf("Probe and Configure without CAP_NET_ADMIN: got %q, want %q", got, want)
	}
	links, err := ns.Netlink(t).LinkList()
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != 1 {
		t.Errorf("links in the namespace: got %d, want only lo", len(links))
	}
}

// TestProbeAsRoot checks that Probe accepts this host when it can create a
// TUN device: root and an openable /dev/net/tun.
func TestProbeAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("Probe succeeds only as root")
	}
	fd, err := unix.Open(tunPath, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no TUN support here: %v", err)
	}
	unix.Close(fd)
	if err := New(nil).Probe(context.Background()); err != nil {
		t.Errorf("Probe as root with %s: got %v, want nil", tunPath, err)
	}
}
