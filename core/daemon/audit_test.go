package daemon

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/core/audit"
	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/hostapi/hostapitest"
	"github.com/rustynet/rustynet/internal/evidence"
	"github.com/rustynet/rustynet/internal/poll"
)

// auditRecords syncs the running daemon's audit log (if any), verifies
// the directory and returns its records; a log that does not verify fails
// the test.
func (h *harness) auditRecords() []*audit.Record {
	h.t.Helper()
	if h.d != nil && h.d.aud.log != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := h.d.aud.log.Sync(ctx); err != nil {
			h.t.Fatal(err)
		}
	}
	recs, rep, err := audit.Verify(audit.DirFor(h.dir))
	if err != nil {
		h.t.Fatalf("audit.Verify: %v", err)
	}
	if !rep.OK {
		h.t.Fatalf("the audit log does not verify: %v", rep.Error())
	}
	return recs
}

// kinds returns the kinds of recs with their source or code, for diffs.
func auditKinds(recs []*audit.Record) []string {
	var out []string
	for _, r := range recs {
		s := string(r.Kind)
		if r.Source != "" {
			s += "/" + string(r.Source)
		}
		if r.Code != "" {
			s += " " + r.Code
		}
		out = append(out, s)
	}
	return out
}

func TestAuditRecordsAcceptsRejectsAndStops(t *testing.T) {
	h := newHarness(t)
	d := h.start()
	h.applyOK(membership.Operation{Type: membership.OpAddNode, Node: newNode("e").member(5)}, "alice", "bob")
	forged := h.net.Propose(t, membership.Operation{Type: membership.OpRevokeNode, NodeID: "b"})
	h.net.Sign(t, forged, "alice", "bob")
	forged.Signatures[0].Sig[5] ^= 1
	if _, err := d.ApplyUpdate(context.Background(), forged.Encode(), false); membership.CodeOf(err) != membership.BadSignature {
		t.Fatalf("forged update: %v, want BAD_SIGNATURE", err)
	}
	under := h.update(membership.Operation{Type: membership.OpRevokeNode, NodeID: "b"}, "alice")
	if _, err := d.ApplyUpdate(context.Background(), under, false); membership.CodeOf(err) != membership.ThresholdNotMet {
		t.Fatalf("under threshold: %v, want THRESHOLD_NOT_MET", err)
	}
	if _, err := d.ApplyUpdate(context.Background(), []byte(`{"not":"an update"}`), false); membership.CodeOf(err) == "" {
		t.Fatalf("garbage: %v, want a rejection", err)
	}
	// A dry run changes nothing and records nothing.
	if _, err := d.ApplyUpdate(context.Background(), forged.Encode(), true); err == nil {
		t.Fatal("dry run of a forged update passed")
	}
	d.Close()

	recs := h.auditRecords()
	// The seed's threat row 2: a refusal is an audit event, with its code.
	for i, want := range []membership.Code{membership.BadSignature, membership.ThresholdNotMet} {
		got := ""
		if 3+i < len(recs) && recs[3+i].Kind == audit.KindUpdateRejected {
			got = recs[3+i].Code
		}
		evidence.Case(t, "audit record of the refusal", string(want), got)
	}
	want := []string{"update.accepted/config", "audit.opened", "update.accepted/api", "update.rejected/api BAD_SIGNATURE",
		"update.rejected/api THRESHOLD_NOT_MET",
		"update.rejected/api " + string(membership.CodeOf(mustFail(membership.ParseSignedUpdate([]byte(`{"not":"an update"}`), nil)))),
		"audit.closed"}
	if diff := cmp.Diff(want, auditKinds(recs)); diff != "" {
		t.Fatalf("audit records (-want +got):\n%s", diff)
	}
	genesis, opened, acc, rej, closed := recs[0], recs[1], recs[2], recs[3], recs[6]
	if genesis.Op != "genesis" || genesis.Epoch != 1 || genesis.Root != h.net.Log[0].Body.NewStateRoot.String() {
		t.Errorf("genesis record: %+v", genesis)
	}
	if opened.Epoch != 1 || opened.Node != "a" {
		t.Errorf("audit.opened: got epoch %d node %q, want 1 and a", opened.Epoch, opened.Node)
	}
	add := h.net.Log[1]
	if acc.Op != "add_node" || acc.Target != "e" || acc.Epoch != 2 || acc.PrevEpoch != 1 ||
		acc.Root != add.Body.NewStateRoot.String() || acc.PrevRoot != add.Body.PrevStateRoot.String() ||
		acc.UpdateID != hex.EncodeToString(add.Body.UpdateID[:]) || !slices.Equal(acc.Signers, []string{"alice", "bob"}) || len(acc.Digest) != 64 {
		t.Errorf("update.accepted: %+v", acc)
	}
	if rej.Op != "revoke_node" || rej.Target != "b" || rej.UpdateEpoch != 3 || rej.Epoch != 2 || rej.Reason == "" || rej.Signers != nil {
		t.Errorf("update.rejected: %+v (want the update named, the head unchanged at 2, no signer credited)", rej)
	}
	if closed.Epoch != 2 || closed.Root != acc.Root {
		t.Errorf("audit.closed: %+v, want the head at epoch 2", closed)
	}
}

func mustFail(_ *membership.SignedUpdate, err error) error { return err }

func TestAuditRecordsTheFeedOnceAndPluginCrashes(t *testing.T) {
	h := newHarness(t)
	write := h.withFeed()
	write(h.net.Log)
	d := h.start()
	// The feed loop's first fetch (the genesis alone) is done before the
	// test's own fetches, so the records come in the test's order.
	if err := poll.Until(30*time.Second, 5*time.Millisecond, func() bool { return !h.status().Feed.LastFetch.IsZero() }); err != nil {
		t.Fatal(err)
	}
	for _, op := range []membership.Operation{{Type: membership.OpRevokeNode, NodeID: "c"}, {Type: membership.OpRevokeNode, NodeID: "d"}} {
		h.net.MustApply(t, h.net.Sign(t, h.net.Propose(t, op), "alice", "bob"))
	}
	write(h.net.Log)
	d.pollFeed(context.Background())
	// A rolled-back feed, fetched three times: one record.
	write(h.net.Log[:1])
	for range 3 {
		d.pollFeed(context.Background())
	}
	// The feed recovers, then rolls back again: recorded again.
	write(h.net.Log)
	d.pollFeed(context.Background())
	write(h.net.Log[:2])
	d.pollFeed(context.Background())

	h.mu.Lock()
	h.backInst[0].Kill() // the backend plugin dies and is relaunched
	h.mu.Unlock()
	if err := poll.Until(30*time.Second, 5*time.Millisecond, func() bool {
		return slices.Contains(auditKinds(h.auditRecords()), "plugin.relaunched")
	}); err != nil {
		t.Fatalf("no plugin.relaunched record: %v; records %v", err, auditKinds(h.auditRecords()))
	}

	recs := h.auditRecords()
	want := []string{"update.accepted/config", "audit.opened", "update.accepted/feed", "update.accepted/feed",
		"update.rejected/feed STALE_EPOCH", "update.rejected/feed STALE_EPOCH", "plugin.crashed", "plugin.relaunched"}
	if diff := cmp.Diff(want, auditKinds(recs)); diff != "" {
		t.Fatalf("audit records (-want +got):\n%s", diff)
	}
	for i, u := range h.net.Log[1:] {
		r := recs[2+i]
		if r.Epoch != u.Body.Epoch || r.Root != u.Body.NewStateRoot.String() || r.Target != u.Body.Operation.NodeID ||
			!slices.Equal(r.Signers, []string{"alice", "bob"}) {
			t.Errorf("feed update %d: %+v", i+2, r)
		}
	}
	if c := recs[6]; c.Plugin != "fake" || c.Restarts != 1 || c.Reason == "" {
		t.Errorf("plugin.crashed: %+v", c)
	}
}

func TestAuditRecordsRestrictedModeAndRecovery(t *testing.T) {
	h := newHarness(t)
	d := h.start()
	h.applyOK(membership.Operation{Type: membership.OpAddNode, Node: newNode("e").member(5)}, "alice", "bob")
	d.Close()
	good := h.disk
	// Roll the store back to genesis only: the high-water mark says epoch 2.
	ctx := context.Background()
	st := good.NewStore()
	if err := st.Open(ctx, hostapi.StoreConfig{Dir: h.dir}); err != nil {
		t.Fatal(err)
	}
	first, err := st.ReadLog(ctx, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	st.Close(ctx)
	h.disk = hostapitest.NewDisk()
	st = h.disk.NewStore()
	if err := st.Open(ctx, hostapi.StoreConfig{Dir: h.dir}); err != nil {
		t.Fatal(err)
	}
	if err := st.Append(ctx, first[0]); err != nil {
		t.Fatal(err)
	}
	st.Close(ctx)
	d = h.start()
	_, err = d.ApplyUpdate(ctx, h.update(membership.Operation{Type: membership.OpRevokeNode, NodeID: "b"}, "alice", "bob"), false)
	if membership.CodeOf(err) != membership.RestrictedMode {
		t.Fatalf("apply in restricted mode: %v", err)
	}
	d.Close()
	h.disk = good // the operator restores the good state
	h.start()

	recs := h.auditRecords()
	want := []string{
		"update.accepted/config", "audit.opened", "update.accepted/api", "audit.closed",
		"audit.opened RESTRICTED_MODE", "trust.restricted INTEGRITY_FAILURE", "update.rejected/api RESTRICTED_MODE", "audit.closed RESTRICTED_MODE",
		"audit.opened", "trust.recovered",
	}
	if diff := cmp.Diff(want, auditKinds(recs)); diff != "" {
		t.Fatalf("audit records (-want +got):\n%s", diff)
	}
	restricted, recovered := recs[5], recs[9]
	if restricted.Epoch != 1 || !strings.Contains(restricted.Reason, "rollback") {
		t.Errorf("trust.restricted: %+v, want the verified prefix (epoch 1) and a rollback reason", restricted)
	}
	if recovered.PrevEpoch != 1 || recovered.Epoch != 2 {
		t.Errorf("trust.recovered: %+v, want from epoch 1 to 2", recovered)
	}
}

// TestAuditHoldsNoKeys submits key files where updates belong — the
// node's private key, an approver's private key — and checks that no key
// material, the node's own included, reaches the audit log.
func TestAuditHoldsNoKeys(t *testing.T) {
	h := newHarness(t)
	d := h.start()
	alice := h.net.Approvers["alice"].Private
	secrets := map[string]string{
		"node private key (base64)":     base64.StdEncoding.EncodeToString(h.self.priv[:]),
		"node private key (hex)":        hex.EncodeToString(h.self.priv[:]),
		"approver private key (base64)": base64.StdEncoding.EncodeToString(alice),
		"approver seed (base64)":        base64.StdEncoding.EncodeToString(alice.Seed()),
		"approver seed (hex)":           hex.EncodeToString(alice.Seed()),
	}
	for _, s := range secrets {
		for _, data := range []string{s, s + "\n", `{"private_key":"` + s + `"}`, `[{"update":"` + s + `"}]`} {
			d.ApplyUpdate(context.Background(), []byte(data), false)
		}
	}
	h.auditRecords()
	d.Close()
	files, err := filepath.Glob(filepath.Join(audit.DirFor(h.dir), "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("audit files: %v %v", files, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for what, s := range secrets {
			if strings.Contains(string(data), s) || strings.Contains(string(data), s[:16]) {
				t.Errorf("%s: holds the %s", f, what)
			}
		}
	}
}

// TestNoAuditLogDegradesButNeverBlocks: an audit directory that cannot be
// created leaves the node running, degraded and saying why; updates apply.
func TestNoAuditLogDegradesButNeverBlocks(t *testing.T) {
	h := newHarness(t)
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	h.opts.Audit.Dir = filepath.Join(blocker, "audit") // under a regular file
	h.start()
	h.applyOK(membership.Operation{Type: membership.OpRevokeNode, NodeID: "b"}, "alice", "bob")
	h.wantPeers("c", "d")
	st := h.status()
	if st.Health.State != controlapi.HealthDegraded || !strings.Contains(strings.Join(st.Health.Reasons, "\n"), "no audit log") {
		t.Errorf("health: %+v, want degraded: no audit log", st.Health)
	}
}

// TestAuditCanBeDisabled: Disabled writes nothing and degrades nothing.
func TestAuditCanBeDisabled(t *testing.T) {
	h := newHarness(t)
	h.opts.Audit.Disabled = true
	h.start()
	h.applyOK(membership.Operation{Type: membership.OpRevokeNode, NodeID: "b"}, "alice", "bob")
	if st := h.status(); st.Health.State != controlapi.HealthOK {
		t.Errorf("health: %+v", st.Health)
	}
	if _, err := os.Stat(audit.DirFor(h.dir)); !os.IsNotExist(err) {
		t.Errorf("audit directory with auditing disabled: %v", err)
	}
}
