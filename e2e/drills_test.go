package e2e

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/internal/poll"
)

// TestDrills performs every runbook of docs/operations on real daemons
// (see drill). scripts/drills/NAME.sh runs one; scripts/test.sh runs them
// all, with RUSTYNET_DRILL_EVIDENCE set to artifacts/drills.
func TestDrills(t *testing.T) {
	for _, d := range drills {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			runDrill(t, d)
		})
	}
}

// drills are the drills, one per runbook.
var drills = []drill{
	{
		name: "emergency-revocation", members: []string{"n1", "n2", "n3"}, target: "n3",
		approvers: 3, threshold: 2, signers: []string{"a1", "a2"},
		before: func(r *drillRun) { r.wantMesh("n1", "n2", "n3") },
		hooks: map[string]func(r *drillRun){
			"sign": func(r *drillRun) { r.watchRefusal("n3", "n1", "n2") },
			"push": func(r *drillRun) { r.measureRefusal(r.finished["sign"]) },
		},
		after: func(r *drillRun) {
			r.wantMesh("n1", "n2")
			r.wantCutOff("n3", "n1", "n2")
		},
	},
	{
		name: "node-key-compromise", members: []string{"n1", "n2", "n3"}, target: "n3",
		approvers: 3, threshold: 2, signers: []string{"a2", "a3"},
		before: func(r *drillRun) { r.wantMesh("n1", "n2", "n3") },
		hooks: map[string]func(r *drillRun){
			"push-revoke": func(r *drillRun) { r.wantCutOff("n3", "n1", "n2") },
		},
		after: func(r *drillRun) { r.wantMesh("n1", "n2", "n3") },
	},
	{
		name: "backup-and-restore", members: []string{"n1", "n2"}, target: "n2",
		approvers: 3, threshold: 2, signers: []string{"a1", "a2"},
		before: func(r *drillRun) { r.wantMesh("n1", "n2") },
		hooks: map[string]func(r *drillRun){
			// The incident: after the backup the network moves on, then the
			// node loses the newest entry of its log (a rollback).
			"backed-up": func(r *drillRun) {
				r.networkMovesOn(retag(r.c.Node("n1"), "ops"))
				r.loseNewestEntry("n2")
			},
		},
		// n2 restarted with its old key, so n1 still holds a session n2
		// forgot: n2 speaks first, which renews it at once.
		after: func(r *drillRun) { r.wantMesh("n2", "n1") },
	},
	{
		name: "rotating-a-node-key", members: []string{"n1", "n2"}, target: "n2",
		approvers: 3, threshold: 2, signers: []string{"a1", "a3"},
		before: func(r *drillRun) { r.wantMesh("n1", "n2") },
		after:  func(r *drillRun) { r.wantMesh("n2", "n1") },
	},
	{
		name: "approver-key-compromise", members: []string{"n1", "n2"}, target: "n2",
		approvers: 3, threshold: 2,
		signersFor: map[string][]string{
			"sign-remove": {"a1", "a2"}, "new-approver-key": {"a4"}, "sign-add": {"a1", "a2", "a4"},
		},
		env: func(r *drillRun) map[string]string {
			return map[string]string{"COMPROMISED": "a3", "COMPROMISED_KEY": filepath.Join(r.work, "keys", "a3.key"), "NEW_APPROVER": "a4"}
		},
		after: func(r *drillRun) { r.wantMesh("n1", "n2") },
	},
	{
		name: "quorum-reconstitution", members: []string{"n1", "n2"},
		approvers: 3, threshold: 2,
		signersFor: map[string][]string{
			"new-approver-key": {"a4"}, "sign-add": {"a1", "a2", "a4"},
			"sign-threshold": {"a1", "a3", "a4"}, "sign-remove": {"a1", "a3", "a4"},
		},
		env:   func(r *drillRun) map[string]string { return map[string]string{"NEW_APPROVER": "a4", "LEAVING": "a2"} },
		after: func(r *drillRun) { r.wantMesh("n1", "n2") },
	},
	{
		name: "restricted-mode", members: []string{"n1", "n2"}, target: "n2",
		approvers: 3, threshold: 2,
		before: func(r *drillRun) {
			r.wantMesh("n1", "n2")
			r.networkMovesOn(retag(r.c.Node("n1"), "ops"))
			r.tamperNewestEntry("n2")
		},
		after: func(r *drillRun) { r.wantMesh("n2", "n1") },
	},
	{
		name: "fork-equivocation", members: []string{"n1", "n2", "n3"}, target: "n3",
		approvers: 3, threshold: 2,
		// a2 signed both updates: a1 and a3 resolve the fork.
		signersFor: map[string][]string{"sign-resolution": {"a1", "a3"}},
		before: func(r *drillRun) {
			r.wantMesh("n1", "n2", "n3")
			r.fork("n3")
		},
		after: func(r *drillRun) { r.wantMesh("n3", "n1", "n2") },
	},
	{
		name: "lost-approver-keys", members: []string{"n1", "n2"},
		approvers: 3, threshold: 2,
		signersFor: map[string][]string{
			"new-keys": {"b1", "b2", "b3"}, "sign-genesis": {"b1", "b2", "b3"}, "sign-endpoint": {"b1", "b2"},
		},
		env: func(r *drillRun) map[string]string {
			return map[string]string{"NEW_NETWORK_ID": "drill-2", "SERVER": "n1"}
		},
		before: func(r *drillRun) { r.wantMesh("n1", "n2") },
		// Only n1 has an endpoint in the new network: n2 speaks first.
		after: func(r *drillRun) { r.wantMesh("n2", "n1") },
	},
	{
		name: "upgrading-a-node", members: []string{"n1", "n2"}, target: "n2",
		approvers: 3, threshold: 2,
		env: func(r *drillRun) map[string]string {
			// CI has one build: the "new" release is that build again.
			return map[string]string{"NEW_RUSTYNET": r.build}
		},
		before: func(r *drillRun) { r.wantMesh("n1", "n2") },
		after:  func(r *drillRun) { r.wantMesh("n2", "n1") },
	},
}

// retag returns an update of n's record that sets its tags.
func retag(n *Node, tags ...string) membership.Operation {
	m := n.Member()
	return membership.Operation{Type: membership.OpUpdateNode, NodeID: n.ID, Addresses: m.Addresses, Endpoints: m.Endpoints,
		Tags: tags, Routes: []netip.Prefix{}}
}

// fork makes the incident of the fork runbook: two updates of the same
// epoch, each signed by a quorum (a2 signs both); the first goes to every
// member but other and is published, the second goes to other only and is
// left in the work directory as other.json. Other's feed, and then the
// exchange over the mesh, make every member forked.
func (r *drillRun) fork(other string) {
	r.check("incident: two quorum-signed updates for one epoch", func() error {
		n1 := r.c.Node("n1")
		published := r.c.Sign(r.c.Propose(retag(n1, "blue")), "a1", "a2")
		rival := r.c.Sign(r.c.Propose(retag(n1, "green")), "a2", "a3")
		var rest []string
		for _, id := range r.d.members {
			if id != other {
				rest = append(rest, id)
			}
		}
		r.c.ApplyAll(published, rest...)
		// FORKED: other had the published update already, from a peer
		// (core/gossip); the rival then proves the fork all the same.
		if _, err := r.c.Node(other).Apply(rival); err != nil && membership.CodeOf(err) != membership.Forked {
			return fmt.Errorf("%s refused the rival update: %v", other, err)
		}
		log := membership.EncodeLog(r.c.Log())
		r.write(filepath.Join(r.work, "log.json"), log, 0o644)
		r.write(filepath.Join(r.feed, "log.json"), log, 0o644)
		r.write(filepath.Join(r.work, "other.json"), rival.Encode(), 0o644)
		// other's feed now serves the published branch: the proof of the
		// equivocation, so other is forked; the members hand the evidence
		// to each other over the mesh, so every member a forked node still
		// reaches is forked soon. n1, whose record the two updates set
		// differently, is outside the fork's floor: forked nodes drop it,
		// so it learns of the fork only by other means.
		return poll.Until(time.Minute, 50*time.Millisecond, func() bool {
			for _, id := range r.d.members {
				if id == n1.ID {
					continue
				}
				st, err := r.status(r.c.Node(id))
				if err != nil || st.Trust.Forked == nil {
					return false
				}
			}
			return true
		})
	})
}

// tamperNewestEntry stops node id, changes one byte in the middle of the
// newest entry of its file store's log, and starts it again: it comes up
// in restricted-safe mode.
func (r *drillRun) tamperNewestEntry(id string) {
	n := r.c.Node(id)
	r.check("incident: someone edits a byte of "+id+"'s stored log", func() error {
		n.Stop()
		path, off, end, err := newestEntry(n)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		b[(off+end)/2] ^= 0x20
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return err
		}
		return r.wantRestricted(n)
	})
}

// newestEntry returns where the newest entry of n's file store log lies:
// the last segment file of log/ (plugins/store-file/doc.go) and the start
// and end of the entry's frame in it, the last of the frames that follow
// the 24-byte segment header (magic "RNE1", index, 8-byte length n,
// data CRC, header CRC, n data bytes, 4-byte trailer).
func newestEntry(n *Node) (path string, off, end int, err error) {
	dir := filepath.Join(n.StateDir, "log")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", 0, 0, err
	}
	var newest string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasPrefix(e.Name(), "seg-") && e.Name() > newest {
			newest = e.Name()
		}
	}
	if newest == "" {
		return "", 0, 0, fmt.Errorf("no log segment in %s", dir)
	}
	path = filepath.Join(dir, newest)
	b, err := os.ReadFile(path)
	if err != nil {
		return "", 0, 0, err
	}
	off = -1
	for at := 24; at+32 <= len(b) && string(b[at:at+4]) == "RNE1"; {
		off, at = at, at+32+int(binary.BigEndian.Uint64(b[at+12:at+20]))
		end = at
	}
	if off < 0 {
		return "", 0, 0, fmt.Errorf("no entry in %s", path)
	}
	return path, off, end, nil
}

// wantRestricted starts n (stopped) and checks it comes up restricted.
func (r *drillRun) wantRestricted(n *Node) error {
	if err := n.start(r.cfg[n.ID]); err != nil {
		return err
	}
	st, err := r.status(n)
	if err != nil {
		return err
	}
	if !st.Trust.Restricted {
		return fmt.Errorf("%s is not in restricted-safe mode (epoch %d)", n.ID, st.Trust.Epoch)
	}
	return nil
}

// networkMovesOn has the genesis's approvers sign op (the first threshold
// of them), applies it on every running member, and publishes the
// extended log as the coordinator's log.json and the feed: the network
// moving on, outside the runbook. It works while log.json is the
// cluster's own log (no update the runbook made yet).
func (r *drillRun) networkMovesOn(op membership.Operation) {
	r.check(fmt.Sprintf("the network moves on (%s)", op.Type), func() error {
		u := r.c.Sign(r.c.Propose(op), r.c.ApproverIDs()[:r.d.threshold]...)
		var running []string
		for _, id := range r.d.members {
			if r.c.Node(id).PID() != 0 {
				running = append(running, id)
			}
		}
		r.c.ApplyAll(u, running...)
		log := membership.EncodeLog(r.c.Log())
		r.write(filepath.Join(r.work, "log.json"), log, 0o644)
		r.write(filepath.Join(r.feed, "log.json"), log, 0o644)
		return nil
	})
}

// loseNewestEntry stops node id, deletes the newest entry of its file
// store's log, and starts it again: it comes up in restricted-safe mode
// (its high-water mark is ahead of its log).
func (r *drillRun) loseNewestEntry(id string) {
	n := r.c.Node(id)
	r.check("incident: "+id+" loses the newest entry of its log", func() error {
		n.Stop()
		path, off, end, err := newestEntry(n)
		if err != nil {
			return err
		}
		// Zero its frame, as an append that never reached the disk leaves
		// it; a segment holding nothing else goes whole.
		if off == 24 {
			err = os.Remove(path)
		} else {
			var b []byte
			if b, err = os.ReadFile(path); err == nil {
				clear(b[off:end])
				err = os.WriteFile(path, b, 0o600)
			}
		}
		if err != nil {
			return err
		}
		return r.wantRestricted(n)
	})
}

// wantMesh checks that every one of ids reaches every other through the
// mesh, the first one first.
func (r *drillRun) wantMesh(ids ...string) {
	r.check(fmt.Sprintf("traffic flows between %v", ids), func() error {
		for _, a := range ids {
			for _, b := range ids {
				if a != b {
					r.c.Node(a).WaitReach(r.c.Node(b), reachWithin)
				}
			}
		}
		return nil
	})
}

// cutOffWindow is how long a probe of wantCutOff is given: a request
// between two nodes on this machine takes milliseconds.
const cutOffWindow = time.Second

// wantCutOff checks that node cut and each of peers no longer reach each
// other, and that no peer lists cut.
func (r *drillRun) wantCutOff(cut string, peers ...string) {
	r.check(fmt.Sprintf("%s is cut off from %v", cut, peers), func() error {
		x := r.c.Node(cut)
		for _, id := range peers {
			p := r.c.Node(id)
			st, err := r.status(p)
			if err != nil {
				return err
			}
			if HasPeer(st, x) {
				return fmt.Errorf("%s still lists %s as a peer: %v", id, cut, PeerIDs(st))
			}
			if body, err := x.Fetch(p, cutOffWindow); err == nil {
				return fmt.Errorf("%s still reaches %s (%q)", cut, id, body)
			}
			if body, err := p.Fetch(x, cutOffWindow); err == nil {
				return fmt.Errorf("%s still reaches %s (%q)", id, cut, body)
			}
		}
		return nil
	})
}

// probeTimeout is how long one traffic probe of watchRefusal waits: far
// more than a request between two nodes on this machine takes.
const probeTimeout = 300 * time.Millisecond

// refusalWatch follows, from the moment the revocation is signed, when
// each peer drops the revoked node and refuses its traffic.
type refusalWatch struct {
	cut     string
	wg      sync.WaitGroup
	mu      sync.Mutex
	removed time.Time // when the last peer's status stopped listing cut
	refused time.Time // when the last peer's refusal began
	errs    []error
}

// later sets *t to at if at is later.
func (w *refusalWatch) later(t *time.Time, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if at.After(*t) {
		*t = at
	}
}

func (w *refusalWatch) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.errs = append(w.errs, err)
}

// watchRefusal starts watching, on each of peers, for node cut to be
// dropped (the peer's status no longer lists it) and for cut's traffic to
// it to be refused (the first of three probes in a row that fail, each
// given probeTimeout); measureRefusal collects the result.
func (r *drillRun) watchRefusal(cut string, peers ...string) {
	x := r.c.Node(cut)
	w := &refusalWatch{cut: cut}
	r.refusal = w
	for _, id := range peers {
		p := r.c.Node(id)
		w.wg.Go(func() {
			err := poll.Until(2*time.Minute, 2*time.Millisecond, func() bool {
				st, err := r.status(p)
				return err == nil && !HasPeer(st, x)
			})
			w.later(&w.removed, time.Now())
			if err != nil {
				w.fail(fmt.Errorf("%s never dropped %s: %v", id, cut, err))
			}
		})
		w.wg.Go(func() {
			var first time.Time
			fails := 0
			err := poll.Until(2*time.Minute, time.Millisecond, func() bool {
				at := time.Now()
				if _, err := x.Fetch(p, probeTimeout); err == nil {
					fails = 0
					return false
				}
				if fails == 0 {
					first = at
				}
				fails++
				return fails == 3
			})
			w.later(&w.refused, first)
			if err != nil {
				w.fail(fmt.Errorf("%s's traffic to %s was never refused: %v", cut, id, err))
			}
		})
	}
}

// measureRefusal waits for the watch watchRefusal started and records,
// from since (the signed revocation), when every peer had dropped the node
// from its data plane (revoke_to_peer_removed_ms, read back through its
// status) and refused its traffic (revoke_to_refused_ms: the later of
// that and the start of the first of three failed probes in a row, which
// revoke_to_first_failed_probe_ms gives as measured; a probe sent just
// before the drop fails too).
func (r *drillRun) measureRefusal(since time.Time) {
	w := r.refusal
	r.check(fmt.Sprintf("time from the signed revocation to %s's traffic refused on every peer", w.cut), func() error {
		w.wg.Wait()
		if len(w.errs) > 0 {
			return w.errs[0]
		}
		r.ev.Measurements["revoke_to_first_failed_probe_ms"] = ms(w.refused.Sub(since))
		refused := w.refused
		if refused.Before(w.removed) {
			refused = w.removed // a probe that failed before the peer dropped the node timed out for another reason
		}
		r.ev.Measurements["revoke_to_peer_removed_ms"] = ms(w.removed.Sub(since))
		r.ev.Measurements["revoke_to_refused_ms"] = ms(refused.Sub(since))
		r.ev.Measurements["probe_timeout_ms"] = ms(probeTimeout)
		r.t.Logf("%s: dropped by every peer %.1f ms and its traffic refused by every peer %.1f ms after the revocation was signed",
			w.cut, r.ev.Measurements["revoke_to_peer_removed_ms"], r.ev.Measurements["revoke_to_refused_ms"])
		return nil
	})
}
