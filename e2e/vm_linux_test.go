package e2e

import (
	"testing"

	"github.com/rustynet/rustynet/internal/vmtest"
	"github.com/rustynet/rustynet/internal/vmtest/vmtesting"
)

// TestWgkernelRoutedMesh is TestWgtunRoutedMesh and TestWgtunPolicy on
// kernel WireGuard: the same daemons, namespaces and checks, inside one VM
// boot, since this host's kernel has no WireGuard module. The guest gets
// the rustynet binary the host built, iproute2's ip and wireguard-tools'
// wg, and the modules for veth pairs, WireGuard and the nftables
// forwarding, NAT and filter rules.
func TestWgkernelRoutedMesh(t *testing.T) {
	const guestBin = "/bin/rustynet"
	if !vmtesting.RunTest(t, vmtesting.Options{
		Modules: vmtest.NetworkModules,
		Tools:   []string{"ip", "wg"},
		Files:   []vmtest.File{{Path: guestBin, Source: bin}},
		Env:     []string{guestBinEnv + "=" + guestBin},
		Memory:  "1536M",
	}) {
		return
	}
	t.Run("routes", func(t *testing.T) { testRoutedMesh(t, newRoutedMesh(t), "wgkernel") })
	t.Run("policy", func(t *testing.T) { testPolicy(t, newRoutedMeshWith(t, webPolicy()), "wgkernel") })
}
