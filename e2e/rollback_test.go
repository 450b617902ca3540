package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rustynet/rustynet/core/membership"
)

// TestRollbackOfStateDirIsRestricted stops a node, replaces its state
// directory with a copy taken one update earlier, and restarts it. The
// high-water mark kept outside the directory gives the rollback away: the
// node comes up in restricted-safe mode with no peers, status says
// INTEGRITY_FAILURE and why, it refuses further updates with
// RESTRICTED_MODE, and traffic to and from it is refused.
func TestRollbackOfStateDirIsRestricted(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"file", "sqlite"} {
		t.Run("store="+store, func(t *testing.T) {
			t.Parallel()
			c := newCluster(t, Options{Members: []string{"n1", "n2"}})
			n1, n2 := c.Node("n1"), c.Node("n2")
			n1.Start(NodeConfig{Store: store})
			n2.Start(NodeConfig{})
			n2.WaitReach(n1, reachWithin)

			n1.Stop()
			old := filepath.Join(c.Dir, "n1-state-epoch1")
			copyDir(t, n1.StateDir, old)
			n1.Restart()
			c.ApplyAll(c.Sign(c.Propose(membership.Operation{Type: membership.OpAddNode, Node: c.AddNode("n3").Member()}), "a1", "a2"), "n1", "n2")
			if st := n1.Status(); st.Trust.Epoch != 2 || st.Trust.Restricted {
				t.Fatalf("before the rollback n1 is at epoch %d (restricted %v), want 2, trusted", st.Trust.Epoch, st.Trust.Restricted)
			}

			n1.Stop()
			if err := os.RemoveAll(n1.StateDir); err != nil {
				t.Fatal(err)
			}
			copyDir(t, old, n1.StateDir)
			n1.Restart()

			st := n1.Status()
			if !st.Trust.Restricted || !strings.Contains(st.Trust.Reason, string(membership.IntegrityFailure)) || !strings.Contains(st.Trust.Reason, "rollback") {
				t.Errorf("after the rollback: restricted %v, reason %q; want restricted, INTEGRITY_FAILURE, rollback", st.Trust.Restricted, st.Trust.Reason)
			}
			if len(st.Peers) != 0 || st.Backend.Isolated == "" {
				t.Errorf("after the rollback: peers %v, isolated %q; want no peers and the reason", PeerIDs(st), st.Backend.Isolated)
			}
			next := c.Sign(c.Propose(membership.Operation{Type: membership.OpRemoveNode, NodeID: "n3"}), "a1", "a2")
			if _, err := n1.Apply(next); membership.CodeOf(err) != membership.RestrictedMode {
				t.Errorf("an update to the rolled-back node answered %v, want RESTRICTED_MODE", err)
			}
			if r := n1.Status().Trust.LastRejected; r == nil || r.Code != string(membership.RestrictedMode) {
				t.Errorf("status last_rejected = %+v, want RESTRICTED_MODE", r)
			}
			n1.WantNoReach(n2)
			n2.WantNoReach(n1)
		})
	}
}

// copyDir copies the directory tree src to dst, keeping permissions.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm())
		case info.Mode().IsRegular():
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(target, data, info.Mode().Perm())
		default:
			return nil // sockets and the like are not state
		}
	})
	if err != nil {
		t.Fatalf("copying %s to %s: %v", src, dst, err)
	}
}
