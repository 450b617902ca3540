package membership_test

import (
	"testing"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// batchLog is a log of a genesis and n-1 add_node updates, each signed by
// alice, bob and carol: several of Replay's signature batches.
func batchLog(t *testing.T, n int) ([]*membership.SignedUpdate, membership.Hash) {
	t.Helper()
	net := membershiptest.New(t, 2)
	for i := range n - 1 {
		op := membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node(membershiptest.NodeID(100+i), 100+i)}
		net.MustApply(t, net.Sign(t, net.Propose(t, op), "alice", "bob", "carol"))
	}
	return net.Log, net.Log[0].Body.NewStateRoot
}

// reparse returns a fresh copy of log, with no remembered verdicts.
func reparse(t *testing.T, log []*membership.SignedUpdate) []*membership.SignedUpdate {
	t.Helper()
	out, err := membership.ParseLog(membership.EncodeLog(log), nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestReplayBatchFailure: a forged signature anywhere in a log — first or
// last of a batch, in its middle, in the genesis, in the last entry — fails
// Replay at that entry with the code and message that applying the
// entries one by one, each signature verified alone, gives.
func TestReplayBatchFailure(t *testing.T) {
	log, pin := batchLog(t, 150)
	if _, applied, err := membership.Replay(reparse(t, log), pin, nil); err != nil || applied != len(log) {
		t.Fatalf("the genuine log: %d of %d applied, %v", applied, len(log), err)
	}
	for _, tc := range []struct{ entry, sig int }{{0, 0}, {1, 2}, {63, 1}, {64, 0}, {100, 1}, {127, 2}, {128, 0}, {149, 2}} {
		forged := reparse(t, log)
		forged[tc.entry].Signatures[tc.sig].Sig[7] ^= 0x10

		// One by one, each signature verified alone (nothing prechecked).
		c := membership.NewChain(forged[0].Body.NetworkID)
		wantAt, wantErr := len(forged), error(nil)
		for i, u := range reparse(t, forged) {
			if _, err := c.Apply(u, membership.Options{History: true}); err != nil {
				wantAt, wantErr = i, err
				break
			}
		}
		if wantAt != tc.entry || membership.CodeOf(wantErr) != membership.BadSignature {
			t.Fatalf("entry %d signature %d forged: one by one it fails at %d with %v, want %d with BAD_SIGNATURE", tc.entry, tc.sig, wantAt, wantErr, tc.entry)
		}
		_, at, err := membership.Replay(forged, pin, nil)
		if at != wantAt || err == nil || err.Error() != wantErr.Error() {
			t.Errorf("entry %d signature %d forged: Replay fails at %d with %v, want %d with %v", tc.entry, tc.sig, at, err, wantAt, wantErr)
		}
	}
}

// TestPrecheckVerdictsAreSingle: the verdicts PrecheckSignatures remembers
// (a batch, then one at a time if it fails) are those of verifying each
// signature alone, for an update with every signature valid and for one
// with a forged signature among valid ones.
func TestPrecheckVerdictsAreSingle(t *testing.T) {
	log, _ := batchLog(t, 3)
	for forge := -1; forge < 3; forge++ {
		u := reparse(t, log)[2]
		if forge >= 0 {
			u.Signatures[forge].Sig[40] ^= 1
		}
		var want []bool
		for i := range u.Signatures {
			want = append(want, u.VerifySignature(i))
		}
		u.PrecheckSignatures()
		for i := range u.Signatures {
			if got := u.VerifySignature(i); got != want[i] || got != (i != forge) {
				t.Errorf("signature %d forged: signature %d prechecked %v, alone %v", forge, i, got, want[i])
			}
		}
	}
}

// TestPrecheckBatchVerdicts: PrecheckBatch over a run of updates longer
// than one batch, with forged signatures in some, remembers for every
// signature the verdict of verifying it alone, and Replay of the run
// fails at the first forged entry as it does unprechecked.
func TestPrecheckBatchVerdicts(t *testing.T) {
	log, pin := batchLog(t, 150)
	us := reparse(t, log)
	forged := map[[2]int]bool{{5, 0}: true, {70, 2}: true, {71, 1}: true, {149, 0}: true}
	for k := range forged {
		us[k[0]].Signatures[k[1]].Sig[3] ^= 0x40
	}
	want := map[[2]int]bool{}
	for i, u := range reparse(t, us) { // unprechecked copies: each signature verified alone
		for j := range u.Signatures {
			want[[2]int{i, j}] = u.VerifySignature(j)
		}
	}
	membership.PrecheckBatch(us)
	for i, u := range us {
		for j := range u.Signatures {
			k := [2]int{i, j}
			if got := u.VerifySignature(j); got != want[k] || got == forged[k] {
				t.Errorf("entry %d signature %d: prechecked %v, alone %v, forged %v", i, j, got, want[k], forged[k])
			}
		}
	}
	if _, at, err := membership.Replay(us, pin, nil); at != 5 || membership.CodeOf(err) != membership.BadSignature {
		t.Errorf("Replay of the prechecked run: fails at %d with %v, want 5 with BAD_SIGNATURE", at, err)
	}
}
