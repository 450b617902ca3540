package wgkernel

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rustynet/rustynet/internal/vmtest"
	"github.com/rustynet/rustynet/internal/vmtest/vmtesting"
)

// guestWireGuardGo is where the wireguard-go binary is in the guest.
const guestWireGuardGo = "/bin/wireguard-go"

// TestKernel runs the backend against a real kernel with WireGuard: on the
// host it boots a VM (internal/vmtest) and runs itself there; in the guest
// every subtest uses network namespaces of its own.
func TestKernel(t *testing.T) {
	opts := vmtesting.Options{
		Modules: append(slices.Clone(vmtest.NetworkModules), "tun"),
		// The interop peer is configured by the standard tools.
		Tools: []string{"ip", "wg"},
	}
	if !vmtesting.InGuest() {
		vmtesting.Require(t)
		// The interop peer: the plain wireguard-go command, built from the
		// module cache for the guest.
		wgGo := filepath.Join(t.TempDir(), "wireguard-go")
		if err := vmtest.BuildStatic(context.Background(), "", "golang.zx2c4.com/wireguard", wgGo); err != nil {
			t.Fatal(err)
		}
		opts.Files = []vmtest.File{{Path: guestWireGuardGo, Source: wgGo}}
	}
	if !vmtesting.RunTest(t, opts) {
		return
	}
	t.Run("probe", testProbe)
	t.Run("info", testInfo)
	t.Run("closed", testClosed)
	t.Run("configure", testConfigure)
	t.Run("configure-invalid", testConfigureInvalid)
	t.Run("adopt", testAdopt)
	t.Run("peers-readback", testPeersReadBack)
	t.Run("peers-invalid", testPeersInvalid)
	t.Run("peers-rollback", testPeersRollback)
	t.Run("routes", testRoutes)
	t.Run("default-route", testDefaultRoute)
	t.Run("router", testRouter)
	t.Run("exit", testExit)
	t.Run("traffic", testTraffic)
	t.Run("filter", testFilter)
	t.Run("interop-wireguard-go", testInteropWireGuardGo)
}
