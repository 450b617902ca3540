package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/rustynet/rustynet/core/audit"
	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
)

// effectiveState is the state the data plane follows: the trusted state,
// or while the ledger holds evidence of a fork, the fork's floor (what
// both sides agree on; see docs/forks.md). nil before genesis.
func (d *Daemon) effectiveState() *membership.State {
	if f := d.ledger.Fork(); f != nil {
		return f.Floor
	}
	return d.ledger.State()
}

// noteRefusal handles an update the ledger refused: if the refusal made
// the ledger forked (FORKED, and a fork this daemon has not acted on), it
// records the fork in the audit trail and shrinks the data plane to the
// fork's floor at once. d.mu must be held.
func (d *Daemon) noteRefusal(ctx context.Context, err error) {
	if membership.CodeOf(err) == membership.Forked {
		d.noteFork(ctx)
	}
}

// noteFork acts on the ledger's fork, once per piece of evidence: it
// records it in the audit trail and shrinks the data plane to the fork's
// floor. d.mu must be held.
func (d *Daemon) noteFork(ctx context.Context) {
	f := d.ledger.Fork()
	if f == nil || len(f.Items) == d.forkSeen {
		return
	}
	d.forkSeen = len(f.Items)
	d.recordFork()
	if rerr := d.fullReconcile(ctx); rerr != nil {
		d.log.Error("shrinking the data plane to the fork's floor failed; repairing", "err", rerr)
		d.requestRepair()
	}
}

// recordFork writes the fork the ledger holds into the audit trail.
func (d *Daemon) recordFork() {
	f := d.ledger.Fork()
	if f == nil || d.aud.log == nil {
		return
	}
	ls := d.ledger.Status()
	epoch, root := head(ls)
	why := f.Summary()
	if p := f.First().Path; p != "" {
		why += "; evidence in " + p
	}
	d.record(audit.Record{Kind: audit.KindTrustForked, Epoch: epoch, Root: root, Code: string(membership.Forked), Reason: why})
}

// forkStatus is the fork part of the status, nil unless forked.
func (d *Daemon) forkStatus() *controlapi.ForkStatus {
	f := d.ledger.Fork()
	if f == nil {
		return nil
	}
	first := f.First()
	r := first.Report
	fs := &controlapi.ForkStatus{Epoch: r.Epoch, PrevStateRoot: r.PrevRoot.String(), DoubleSigners: append([]string{}, r.DoubleSigners...),
		Evidence: first.Path, Summary: f.Summary(), FloorMembers: f.Floor.NodeCount(), MoreEvidence: len(f.Items) - 1}
	for i := range 2 {
		fs.Updates = append(fs.Updates, r.Digests[i].String())
	}
	return fs
}

// freshness fills in how old the newest trusted update is and whether that
// makes the node stale (Options.MaxUpdateAge).
func (d *Daemon) freshness(t *controlapi.TrustStatus) {
	t.LastUpdateAt = d.lastUpdateAt()
	if t.LastUpdateAt.IsZero() {
		return
	}
	age := max(d.opts.Now().Sub(t.LastUpdateAt), 0)
	t.UpdateAgeSeconds = int64(age / time.Second)
	if max := d.opts.MaxUpdateAge; max > 0 {
		t.MaxUpdateAgeSeconds = int64(max / time.Second)
		t.Stale = age > max
	}
}

// staleReason is the health reason of a stale node.
func staleReason(t controlapi.TrustStatus) string {
	return fmt.Sprintf("stale: the newest trusted update (epoch %d) was created %s ago, more than max_update_age %s; updates may be withheld from this node",
		t.Epoch, time.Duration(t.UpdateAgeSeconds)*time.Second, time.Duration(t.MaxUpdateAgeSeconds)*time.Second)
}

// checkFreshness logs and records, once each time it happens, that the
// node became stale. Called from the repair loop, holding no lock.
func (d *Daemon) checkFreshness() {
	if d.opts.MaxUpdateAge <= 0 {
		return
	}
	var t controlapi.TrustStatus
	ls := d.ledger.Status()
	t.Epoch = ls.Epoch
	d.freshness(&t)
	if t.Stale == d.staleSeen.Load() {
		return
	}
	d.staleSeen.Store(t.Stale)
	if !t.Stale {
		d.log.Info("fresh again: a newer update arrived", "epoch", t.Epoch)
		return
	}
	why := staleReason(t)
	d.log.Warn(why)
	epoch, root := head(ls)
	d.record(audit.Record{Kind: audit.KindTrustStale, Epoch: epoch, Root: root, Reason: why})
}

// takeResolution hands r, a fork resolution a feed or a peer serves (see
// ledger.ResolutionAvailable), to the ledger. It reports whether r was a
// resolution this node could take at all; if so, err is the ledger's
// verdict, and on success the node has left the forked state (for the
// fork r settles) and the data plane follows the resolved state.
func (d *Daemon) takeResolution(ctx context.Context, r *membership.SignedUpdate, src audit.Source) (bool, error) {
	defer d.auditSettle()
	d.mu.Lock()
	defer d.mu.Unlock()
	res, err := d.ledger.Resolve(ctx, r)
	if res == nil && err == nil {
		return false, nil
	}
	if err != nil {
		d.rejectLocked(err)
		d.auditRejected(src, err, r.Encode(), r)
		return true, err
	}
	d.auditAccepted(src, res, r.Encode())
	d.afterResolutionLocked(ctx, res)
	return true, nil
}

// afterResolutionLocked follows a fork resolution the ledger took: the
// log's suffix changed, so the data plane is reconciled in full, and a
// later fork is noted afresh. d.mu must be held.
func (d *Daemon) afterResolutionLocked(ctx context.Context, res *membership.Result) {
	d.forkSeen = 0
	if f := d.ledger.Fork(); f != nil {
		d.forkSeen = len(f.Items)
	}
	d.log.Warn("fork resolved: following the approvers' resolution", "epoch", res.Post.Epoch(), "root", res.Post.Root().String())
	if err := d.fullReconcile(ctx); err != nil {
		d.log.Error("reconcile after a fork resolution failed; repairing", "err", err)
		d.requestRepair()
	}
}
