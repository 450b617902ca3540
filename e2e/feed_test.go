package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
)

// feedWithin bounds how long a node may take to fetch and judge its feed
// (it polls every 100ms here).
const feedWithin = 30 * time.Second

// TestFeed serves n1's membership log from a feed directory, an untrusted
// transport. A good extension is applied without anyone calling
// apply-update; a tampered entry, a forged signature, an older log and a
// fork are rejected and reported (feed.last_error, last_rejected) while n1
// keeps its trusted state, its peers and its traffic.
func TestFeed(t *testing.T) {
	t.Parallel()
	c := newCluster(t, Options{Members: []string{"n1", "n2"}})
	n1, n2 := c.Node("n1"), c.Node("n2")
	dir := filepath.Join(c.Dir, "feed")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	serve := func(data []byte) {
		t.Helper()
		tmp := filepath.Join(dir, "log.json.tmp")
		if err := os.WriteFile(tmp, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "log.json")); err != nil {
			t.Fatal(err)
		}
	}
	serve(membership.EncodeLog(c.Log()))
	// No exchange of heads: n1 learns only from the feed.
	n1.Start(NodeConfig{Feed: dir, NoSync: true})
	n2.Start(NodeConfig{NoSync: true})
	n1.WaitReach(n2, reachWithin)

	// extend commits op (signed by a1 and a2) to n2 through its API and to
	// n1 through the feed alone, and waits until n1 has it.
	extend := func(op membership.Operation) {
		t.Helper()
		u := c.Sign(c.Propose(op), "a1", "a2")
		c.ApplyAll(u, "n2")
		serve(membership.EncodeLog(c.Log()))
		n1.WaitStatus("the feed's extension", feedWithin, func(st controlapi.Status) bool {
			return st.Trust.Epoch == u.Body.Epoch && st.Feed != nil && st.Feed.LastError == "" && st.Feed.AppliedThrough == u.Body.Epoch
		})
	}

	t.Run("good extension", func(t *testing.T) {
		n3 := c.AddNode("n3")
		extend(membership.Operation{Type: membership.OpAddNode, Node: n3.Member()})
		if st := n1.Status(); !HasPeer(st, n3) || st.Trust.StateRoot != c.State().Root().String() {
			t.Errorf("after the feed's add of n3: peers %v, root %s; want n3 and root %s", PeerIDs(st), st.Trust.StateRoot, c.State().Root())
		}
	})

	n4 := c.AddNode("n4")
	addN4 := membership.Operation{Type: membership.OpAddNode, Node: n4.Member()}
	genesisOnly, _, err := membership.Replay(c.Log()[:1], c.GenesisRoot, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		log  func() []byte
		code membership.Code
		why  string // a word the feed error must hold
	}{
		{"tampered entry", func() []byte {
			u := c.Sign(c.Propose(addN4), "a1", "a2")
			data := membership.EncodeLog(append(c.Log(), u))
			// Change n4's mesh address inside the signed body.
			return replaceLast(t, data, n4.Addr.Addr().String(), "100.64.0.99")
		}, membership.WrongNewRoot, ""},
		{"forged signature", func() []byte {
			return membership.EncodeLog(append(c.Log(), Forge(c.Sign(c.Propose(addN4), "a1", "a2"))))
		}, membership.BadSignature, ""},
		{"under threshold", func() []byte {
			return membership.EncodeLog(append(c.Log(), c.Sign(c.Propose(addN4), "a1")))
		}, membership.ThresholdNotMet, ""},
		{"older log", func() []byte { return membership.EncodeLog(c.Log()[:1]) }, membership.StaleEpoch, "rollback"},
		// A source that diverges with an entry no quorum signed is the
		// source's fork, refused; one a quorum signed would be proof of an
		// equivocation and make n1 forked (TestForkSameOutcomeInEveryOrder,
		// the fork drill).
		{"fork", func() []byte {
			u, err := membership.NewUpdate(genesisOnly.State(), addN4, membership.Proposal{CreatedAt: time.Now(), Validity: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			return membership.EncodeLog([]*membership.SignedUpdate{c.Log()[0], c.Sign(u, "a1")})
		}, membership.WrongPrevRoot, "fork"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := viewOf(n1.Status())
			serve(tt.log())
			st := n1.WaitStatus("the feed's rejection", feedWithin, func(st controlapi.Status) bool {
				return st.Feed != nil && strings.Contains(st.Feed.LastError, string(tt.code))
			})
			if !strings.Contains(st.Feed.LastError, tt.why) {
				t.Errorf("feed.last_error = %q, want it to say %q", st.Feed.LastError, tt.why)
			}
			if r := st.Trust.LastRejected; r == nil || r.Code != string(tt.code) {
				t.Errorf("last_rejected = %+v, want %s", r, tt.code)
			}
			if diff := cmp.Diff(before, viewOf(st)); diff != "" {
				t.Errorf("the rejected feed changed the trusted state or peers (-before +after):\n%s", diff)
			}
			if HasPeer(st, n4) {
				t.Errorf("n4 became a peer through a rejected feed")
			}
			n1.WaitReach(n2, reachWithin)
		})
	}

	t.Run("good extension after rejections", func(t *testing.T) {
		extend(addN4)
		if st := n1.Status(); !HasPeer(st, n4) {
			t.Errorf("after the feed's add of n4: peers %v, want n4 among them", PeerIDs(st))
		}
	})
}

// replaceLast replaces the last occurrence of old in data with new.
func replaceLast(t *testing.T, data []byte, old, new string) []byte {
	t.Helper()
	i := bytes.LastIndex(data, []byte(old))
	if i < 0 {
		t.Fatalf("%q is not in the log", old)
	}
	return append(append(append([]byte(nil), data[:i]...), new...), data[i+len(old):]...)
}
