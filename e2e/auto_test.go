package e2e

import (
	"os"
	"os/user"
	"strconv"
	"strings"
	"testing"

	"github.com/rustynet/rustynet/core/controlapi"
)

// skippedReasons maps each backend auto-selection passed over to why.
func skippedReasons(st controlapi.Status) map[string]string {
	m := map[string]string{}
	for _, s := range st.Backend.Skipped {
		m[s.Name] = s.Reason
	}
	return m
}

// TestAutoBackendUnprivileged runs a node with backend = "auto" as the
// unprivileged user nobody: kernel WireGuard and TUN both need
// CAP_NET_ADMIN, so both are skipped with that reason, netstack is chosen,
// status says so, and the node's traffic flows through its SOCKS5 proxy.
func TestAutoBackendUnprivileged(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("starting a daemon as another user needs root")
	}
	nobody := lookupNobody(t)
	c := newCluster(t, Options{Members: []string{"n1", "n2"}})
	n1, n2 := c.Node("n1"), c.Node("n2")
	n1.Start(NodeConfig{Backend: "auto", RunAs: nobody})
	n2.Start(NodeConfig{})
	if uid := processUID(t, n1.PID()); uid != nobody.UID {
		t.Fatalf("the daemon runs as uid %d, want %d", uid, nobody.UID)
	}

	st := n1.Status()
	if st.Backend.Name != "netstack" {
		t.Errorf("auto chose %q as uid %d, want netstack", st.Backend.Name, nobody.UID)
	}
	skipped := skippedReasons(st)
	for _, name := range []string{"wgkernel", "wgtun"} {
		if r, ok := skipped[name]; !ok || !strings.Contains(r, "CAP_NET_ADMIN") {
			t.Errorf("skipped[%s] = %q (present %v), want a reason naming CAP_NET_ADMIN; all skipped: %v", name, r, ok, st.Backend.Skipped)
		}
	}
	if len(skipped) != 2 {
		t.Errorf("skipped %v, want exactly wgkernel and wgtun", st.Backend.Skipped)
	}
	n1.WaitReach(n2, reachWithin)
	n2.WaitReach(n1, reachWithin)
}

// TestAutoBackendRoot runs a node with backend = "auto" as root, in a
// network namespace of its own (so a TUN device it creates touches nothing
// else), with no proxy configured. The running kernel's WireGuard support
// decides the kernel backend; without it, wgkernel is skipped saying so
// and wgtun is chosen.
func TestAutoBackendRoot(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the kernel and TUN backends need CAP_NET_ADMIN")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("needs /dev/net/tun: %v", err)
	}
	_, err := os.Stat("/sys/module/wireguard")
	kernelWG := err == nil
	c := newCluster(t, Options{Members: []string{"n1"}})
	n1 := c.Node("n1")
	// Its own interface name: wgtun's UAPI socket is not per namespace,
	// and TestWGTunBackendStartsWithoutProxy runs beside it.
	n1.Start(NodeConfig{Backend: "auto", NoProxy: true, PrivateNetwork: true, Interface: "rn-auto"})

	st := n1.Status()
	skipped := skippedReasons(st)
	t.Logf("auto chose %s; skipped %v", st.Backend.Name, st.Backend.Skipped)
	if kernelWG {
		if st.Backend.Name != "wgkernel" || len(skipped) != 0 {
			t.Errorf("with kernel WireGuard loaded, auto chose %q and skipped %v; want wgkernel, nothing skipped", st.Backend.Name, st.Backend.Skipped)
		}
		return
	}
	if st.Backend.Name != "wgtun" {
		t.Errorf("auto chose %q, want wgtun (root, /dev/net/tun present, no kernel WireGuard)", st.Backend.Name)
	}
	if r := skipped["wgkernel"]; !strings.Contains(r, "no WireGuard") || len(skipped) != 1 {
		t.Errorf("skipped %v, want only wgkernel, for lack of kernel WireGuard", st.Backend.Skipped)
	}
}

// processUID returns the real uid of a running process.
func processUID(t *testing.T, pid int) uint32 {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "Uid:" {
			uid, err := strconv.ParseUint(f[1], 10, 32)
			if err != nil {
				t.Fatal(err)
			}
			return uint32(uid)
		}
	}
	t.Fatalf("no Uid line in /proc/%d/status", pid)
	return 0
}

// lookupNobody returns the user nobody, skipping the test if there is none.
func lookupNobody(t *testing.T) *Identity {
	t.Helper()
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody to run an unprivileged daemon as: %v", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		t.Skipf("user nobody has a non-numeric uid %q or gid %q", u.Uid, u.Gid)
	}
	return &Identity{UID: uint32(uid), GID: uint32(gid)}
}

// TestWGTunBackendStartsWithoutProxy starts a node with backend = "wgtun"
// as root in a network namespace of its own. Such a configuration may have
// no [proxy] table (config refuses one), so the only proxy setting is the
// default SOCKS5 listener, which config.ProxyConfig documents the daemon
// passes "only to a backend advertising hostapi.BackendCapProxy". The
// daemon must start on wgtun.
func TestWGTunBackendStartsWithoutProxy(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the TUN backend needs CAP_NET_ADMIN")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("needs /dev/net/tun: %v", err)
	}
	c := newCluster(t, Options{Members: []string{"n1"}})
	n1 := c.Node("n1")
	if err := n1.start(NodeConfig{Backend: "wgtun", NoProxy: true, PrivateNetwork: true, Interface: "rn-noproxy"}); err != nil {
		t.Fatalf("a wgtun node without a [proxy] table does not start: %v", err)
	}
	if st := n1.Status(); st.Backend.Name != "wgtun" || st.Backend.Plugin.State != "running" {
		t.Errorf("backend %q (plugin %s), want wgtun, running", st.Backend.Name, st.Backend.Plugin.State)
	}
}
