package e2e

import (
	"testing"

	"github.com/rustynet/rustynet/internal/vmtest"
	"github.com/rustynet/rustynet/internal/vmtest/vmtesting"
)

// TestWgkernelRoutedMesh is TestWgtunRoutedMesh on kernel WireGuard: the
// same daemons, namespaces and checks, inside a VM, since this host's
// kernel has no WireGuard module. The guest gets the rustynet binary the
// host built, iproute2's ip and wireguard-tools' wg, and the modules
// for veth pairs, WireGuard and the nftables forwarding and NAT rules.
func TestWgkernelRoutedMesh(t *testing.T) {
	const guestBin = "/bin/rustynet"
	if !vmtesting.RunTest(t, vmtesting.Options{
		Modules: []string{"wireguard", "veth", "crc32c_generic", "nf_tables", "nft_ct", "nft_chain_nat", "nft_masq"},
		Tools:   []string{"ip", "wg"},
		Files:   []vmtest.File{{Path: guestBin, Source: bin}},
		Env:     []string{guestBinEnv + "=" + guestBin},
		Memory:  "1536M",
	}) {
		return
	}
	testRoutedMesh(t, newRoutedMesh(t), "wgkernel")
}
