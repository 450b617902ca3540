package wgtun

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/netnstest"
	"github.com/rustynet/rustynet/internal/poll/polltest"
	"github.com/rustynet/rustynet/internal/testbin"
)

// BenchmarkApplyVersusSyncconf compares adding one peer to an interface
// holding N peers two ways, in the same run:
//
//   - wgtun: ApplyPeers with the one-peer diff, through the plugin boundary
//     (as BenchmarkApplyAddOnePeer);
//   - wg-syncconf: `wg syncconf` of a config file with the N+1 peers against
//     plain wireguard-go holding the N peers (set once with `wg setconf`),
//     one exec of wg per iteration, as an operator's script would do it.
//
// wg-exec is the process floor the syncconf figure includes: one exec of
// `wg --version`, which touches no interface. After each iteration the added
// peer is checked and removed outside the timer, so N stays fixed.
func BenchmarkApplyVersusSyncconf(b *testing.B) {
	netnstest.Require(b)
	requireTool(b, "wg")
	bin := testbin.Package(b, "golang.zx2c4.com/wireguard", "wireguard-go")
	for _, n := range []int{1000, 10000} {
		b.Run("wgtun/peers="+strconv.Itoa(n), func(b *testing.B) {
			c := benchBackend(b, n)
			ctx := context.Background()
			for i := 0; b.Loop(); i++ {
				p := benchPeer(n + i)
				if err := c.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{p}}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := c.RemovePeers(ctx, []hostapi.Key{p.PublicKey}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
		b.Run("wg-syncconf/peers="+strconv.Itoa(n), func(b *testing.B) {
			iface, base := plainWithPeers(b, bin, n)
			file := filepath.Join(b.TempDir(), "next.conf")
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				p := benchPeer(n + i)
				if err := os.WriteFile(file, []byte(base+peerSection(p)), 0o600); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				wg(b, "syncconf", iface, file)
				b.StopTimer()
				if !strings.Contains(wg(b, "show", iface, "peers"), p.PublicKey.String()) {
					b.Fatalf("wg syncconf did not add peer %s", p.PublicKey)
				}
				wg(b, "set", iface, "peer", p.PublicKey.String(), "remove")
				b.StartTimer()
			}
		})
	}
	b.Run("wg-exec", func(b *testing.B) {
		for b.Loop() {
			wg(b, "--version")
		}
	})
}

// plainWithPeers starts plain wireguard-go on a TUN in a fresh namespace
// and gives it n peers with `wg setconf`. It returns the interface name and
// the configuration text it set.
func plainWithPeers(b *testing.B, bin string, n int) (iface, conf string) {
	b.Helper()
	ns := netnstest.New(b)
	iface = netnstest.UniqueName("wgs")
	p := ns.Start(b, bin, "-f", iface)
	sock := "/var/run/wireguard/" + iface + ".sock"
	polltest.Until(b, "wireguard-go's UAPI socket "+sock, 20*time.Second, 20*time.Millisecond, func() bool {
		select {
		case <-p.Exited():
			b.Fatalf("wireguard-go exited: %s", p.Output())
		default:
		}
		_, err := os.Stat(sock)
		return err == nil
	})
	var sb strings.Builder
	fmt.Fprintf(&sb, "[Interface]\nPrivateKey = %s\nListenPort = %d\n", newKey().priv.Base64(), wgPort)
	for i := range n {
		sb.WriteString(peerSection(benchPeer(i)))
	}
	conf = sb.String()
	file := filepath.Join(b.TempDir(), "base.conf")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		b.Fatal(err)
	}
	wg(b, "setconf", iface, file)
	if got := strings.Count(strings.TrimSpace(wg(b, "show", iface, "peers")), "\n") + 1; got != n {
		b.Fatalf("wg show peers after setconf: got %d peers, want %d", got, n)
	}
	return iface, conf
}

// peerSection is p as a [Peer] section of a wg configuration file.
func peerSection(p hostapi.PeerConfig) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n[Peer]\nPublicKey = %s\n", p.PublicKey)
	for _, a := range p.AllowedIPs {
		fmt.Fprintf(&sb, "AllowedIPs = %s\n", a)
	}
	return sb.String()
}

// wg runs the wg tool with args and returns its output. wg reaches a
// userspace interface through its UAPI socket under /var/run/wireguard,
// which is in the file system, so this runs in the test's own namespace.
func wg(b *testing.B, args ...string) string {
	b.Helper()
	out, err := exec.Command("wg", args...).CombinedOutput()
	if err != nil {
		b.Fatalf("wg %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out)
}
