//go:build linux

package e2e

import (
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
)

// relaunchWithin bounds how long a killed plugin may take to be relaunched
// and set up again (its supervisor backs off 20ms on a first crash).
const relaunchWithin = time.Minute

// TestBackendPluginKilledIsRelaunched kills n1's backend plugin process
// (`rustynet plugin backend-netstack`, a child of the daemon) with SIGKILL.
// The daemon relaunches it, re-applies the interface and every peer, and
// traffic flows again both ways. How long that took is logged; the
// benchmark in benchmarks/daemon measures it.
func TestBackendPluginKilledIsRelaunched(t *testing.T) {
	t.Parallel()
	c := newCluster(t, Options{Members: []string{"n1", "n2", "n3"}})
	n1, n2 := c.Node("n1"), c.Node("n2")
	n1.Start(NodeConfig{})
	n2.Start(NodeConfig{})
	n1.WaitReach(n2, reachWithin)
	before := PeerIDs(n1.Status())

	old := n1.PluginPID("backend-netstack", 0)
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	n1.WaitReach(n2, relaunchWithin)
	t.Logf("backend plugin %d killed; n1's first successful request through the mesh %s later", old, time.Since(killed).Round(time.Millisecond))

	if pid := n1.PluginPID("backend-netstack", old); pid == old {
		t.Errorf("the backend plugin process is still %d", pid)
	}
	st := n1.WaitStatus("the relaunched backend", relaunchWithin, func(st controlapi.Status) bool {
		return st.Backend.Plugin.State == "running"
	})
	// At least one: a health ping that misses its deadline on a loaded
	// machine is a further, legitimate restart.
	if st.Backend.Plugin.Restarts < 1 {
		t.Errorf("backend plugin restarts = %d, want at least 1", st.Backend.Plugin.Restarts)
	}
	if diff := cmp.Diff(before, PeerIDs(st)); diff != "" {
		t.Errorf("peers after the relaunch differ (-before +after):\n%s", diff)
	}
	n2.WaitReach(n1, reachWithin)
}

// TestStorePluginKilledIsRelaunched kills n1's store plugin (SQLite) with
// SIGKILL; the daemon relaunches it, the next update still verifies,
// persists and reaches the data plane, and it survives a crash (SIGKILL)
// and restart of the daemon.
func TestStorePluginKilledIsRelaunched(t *testing.T) {
	t.Parallel()
	c := newCluster(t, Options{Members: []string{"n1", "n2"}})
	n1 := c.Node("n1")
	n1.Start(NodeConfig{Store: "sqlite"})

	old := n1.PluginPID("store-sqlite", 0)
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	n1.PluginPID("store-sqlite", old) // waits for the new process
	n3 := c.AddNode("n3")
	c.ApplyAll(c.Sign(c.Propose(membership.Operation{Type: membership.OpAddNode, Node: n3.Member()}), "a1", "a2"), "n1")
	st := n1.Status()
	if st.Store.Restarts < 1 || st.Store.State != "running" {
		t.Errorf("store plugin: state %q, %d restarts; want running, at least 1", st.Store.State, st.Store.Restarts)
	}
	if st.Trust.Epoch != 2 || !HasPeer(st, n3) {
		t.Errorf("after the update: epoch %d, peers %v; want 2 with n3", st.Trust.Epoch, PeerIDs(st))
	}

	n1.Kill()
	n1.Restart()
	st = n1.Status()
	if st.Trust.Restricted || st.Trust.Epoch != 2 || !HasPeer(st, n3) {
		t.Errorf("after a crash (SIGKILL) and a restart: restricted %v (%s), epoch %d, peers %v; want trusted epoch 2 with n3", st.Trust.Restricted, st.Trust.Reason, st.Trust.Epoch, PeerIDs(st))
	}
}
