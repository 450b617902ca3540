package daemon

import (
	"context"
	"errors"
	"time"

	"github.com/rustynet/rustynet/core/audit"
	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/feed"
	"github.com/rustynet/rustynet/core/ledger"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/reconcile"
	"github.com/rustynet/rustynet/hostapi"
)

// ApplyUpdate verifies a signed update file and, unless dryRun, commits it
// durably and changes the data plane accordingly: a removal or revocation
// is pushed to the backend as a removal before anything else. A rejected
// update changes nothing and is remembered for status. An update the log
// holds already, byte for byte, is answered AlreadyApplied (nothing
// changes): applying one update to every node is safe while the nodes
// also hand it to each other.
func (d *Daemon) ApplyUpdate(ctx context.Context, data []byte, dryRun bool) (controlapi.ApplyResult, error) {
	defer d.auditSettle() // last, after d.mu is released
	start := time.Now()
	u, err := membership.ParseSignedUpdate(data, d.opts.Limits)
	if err != nil {
		d.reject(err)
		d.auditRejected(audit.SourceAPI, err, data, nil)
		return controlapi.ApplyResult{}, err
	}
	if dryRun {
		res, err := d.ledger.Evaluate(u)
		if err != nil {
			return controlapi.ApplyResult{DryRun: true}, err
		}
		return controlapi.ApplyResult{DryRun: true, Epoch: res.Post.Epoch(), StateRoot: res.Post.Root().String(),
			Changes: membership.Describe(res.Pre, &u.Body.Operation)}, nil
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	pre := d.ledger.State()
	op := &u.Body.Operation
	var ready prepared
	var pushErr error
	res, err := d.ledger.ApplyWith(ctx, u, ledger.ApplyHooks{
		Prepare: func(res *membership.Result) { ready = d.prepare(pre, res, op) },
		// The change is pushed while the ledger writes the high-water
		// mark: the entry, which the data plane must wait for, is durable
		// by then. The mark guards the log against a rollback; a crash
		// before it is written leaves the log one entry ahead of it, as a
		// crash between the two writes always could.
		Committed: func(res *membership.Result, view ledger.CommitView) {
			if ready.full {
				return // fullReconcile reads the ledger: after ApplyWith
			}
			pushErr = d.pushPrepared(ctx, ready, op.Type, view)
		},
	})
	if membership.CodeOf(err) == membership.ReplayedUpdate && d.ledger.Holds(u) {
		// This very update is in the log already (a peer or the feed was
		// quicker): applying it again is done, not refused. A different
		// body under an applied update's id is still REPLAYED_UPDATE.
		return controlapi.ApplyResult{AlreadyApplied: true, Epoch: u.Body.Epoch, StateRoot: u.Body.NewStateRoot.String()}, nil
	}
	if err != nil {
		d.rejectLocked(err)
		d.noteRefusal(ctx, err)
		d.auditRejected(audit.SourceAPI, err, data, u) // queued, never waited for: see audit.go
		return controlapi.ApplyResult{}, err
	}
	d.auditAccepted(audit.SourceAPI, res, data)
	out := controlapi.ApplyResult{Applied: true, Epoch: res.Post.Epoch(), StateRoot: res.Post.Root().String(),
		Changes: membership.Describe(res.Pre, &u.Body.Operation)}
	switch {
	case u.Body.Operation.Type == membership.OpResolveFork:
		// The ledger takes a fork resolution whole, without hooks: the
		// log's suffix was replaced (or a fork left), and nothing of the
		// difference from pre says what the data plane holds.
		d.afterResolutionLocked(ctx, res)
	case ready.full:
		err = d.fullReconcile(ctx)
	default: // pushed by the Committed hook
		err = pushErr
	}
	if err != nil {
		out.DataPlaneError = err.Error()
		d.log.Error("update committed but the data plane lags; repairing", "epoch", out.Epoch, "err", err)
		d.requestRepair()
	}
	latency := time.Since(start)
	out.LatencyMicros = latency.Microseconds()
	d.observer().UpdateApplied(latency)
	d.log.Info("update applied", "epoch", out.Epoch, "op", u.Body.Operation.Type, "latency", latency)
	return out, nil
}

func (d *Daemon) reject(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.rejectLocked(err)
}

func (d *Daemon) rejectLocked(err error) {
	code := membership.CodeOf(err)
	if code == "" {
		return // not a verdict on the update (e.g. a storage failure)
	}
	msg := err.Error()
	if me := (*membership.Error)(nil); errors.As(err, &me) {
		msg = me.Msg // the code is its own field
	}
	d.rejected = &controlapi.Rejection{Code: string(code), Message: msg, At: d.opts.Now()}
	d.observer().UpdateRejected(string(code))
	d.log.Warn("update rejected", "code", code, "err", err)
}

// feedLoop polls the feed and extends the ledger with what verifies.
func (d *Daemon) feedLoop(ctx context.Context) {
	defer d.wg.Done()
	t := time.NewTicker(d.opts.FeedInterval)
	defer t.Stop()
	for {
		d.pollFeed(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pollFeed pulls from the feed once, outside every lock (the pull
// verifies what it brings against the ledger as it arrives), then commits
// what verified and reconciles (afterExtendLocked).
func (d *Daemon) pollFeed(ctx context.Context) {
	d.feedMu.Lock()
	d.feed.FetchingSince = time.Now()
	d.feedMu.Unlock()
	var logged time.Time
	res, err := d.opts.Feed.Pull(ctx, d.ledger, func(p feed.Progress) {
		d.feedMu.Lock()
		d.feed.CatchingUp = &controlapi.FeedProgress{Base: p.Base, Through: p.Through, Head: p.Head, Bytes: p.Bytes}
		d.feedMu.Unlock()
		if time.Since(logged) >= feedProgressEvery {
			logged = time.Now()
			d.log.Info("catching up from the feed", "source", p.Source, "verified_through", p.Through, "head", p.Head, "bytes", p.Bytes)
		}
	})
	if ctx.Err() != nil {
		return // the daemon is closing
	}
	var applied []*membership.SignedUpdate
	d.mu.Lock()
	for _, s := range res.Skipped {
		d.auditFeed(nil, 0, 0, s.Err)
		if membership.CodeOf(s.Err) != "" {
			d.rejectLocked(s.Err)
		}
	}
	if err == nil && res.Extension != nil {
		applied, err = res.Extension.Commit(ctx)
	}
	var ra *ledger.ResolutionAvailable
	if errors.As(err, &ra) {
		// The feed serves a resolution of the fork this node is on: take
		// it (verified as any update), and extend from it at the next poll.
		d.mu.Unlock()
		if _, rerr := d.takeResolution(ctx, ra.Update, audit.SourceFeed); rerr == nil {
			err = nil
		} else {
			err = rerr
		}
		d.mu.Lock()
	} else {
		d.afterExtendLocked(ctx, len(applied), err)
	}
	d.mu.Unlock()
	state := controlapi.FeedOK
	switch {
	case membership.CodeOf(err) != "":
		state = controlapi.FeedRejected
	case err != nil:
		state = controlapi.FeedFailing
	}
	d.auditFeed(applied, 0, len(applied), err)
	d.observer().FeedFetched(state)
	stalled := errors.Is(err, feed.ErrStalled)
	var skipped []controlapi.FeedSkip
	for _, s := range res.Skipped {
		stalled = stalled || errors.Is(s.Err, feed.ErrStalled)
		skipped = append(skipped, controlapi.FeedSkip{Source: s.Source, Error: s.Err.Error()})
		d.log.Warn("feed location passed over", "source", s.Source, "err", s.Err)
	}
	now, epoch := time.Now(), d.ledger.Status().Epoch // not under feedMu: the ledger's lock comes first
	d.feedMu.Lock()
	defer d.feedMu.Unlock()
	d.feed.State, d.feed.FetchingSince, d.feed.LastFetch, d.feed.LastError = state, time.Time{}, now, ""
	d.feed.LastRequests, d.feed.LastBytes, d.feed.Skipped, d.feed.CatchingUp = res.Requests, res.Bytes, skipped, nil
	if res.Source != "" {
		d.feed.Head, d.feed.ServedBy = res.Head, res.Source
	}
	if state == controlapi.FeedOK {
		d.feed.LastSuccess, d.feedSince = now, now
	}
	if stalled {
		d.feed.Stalls++
	}
	if err != nil {
		d.feed.LastError = err.Error()
		d.log.Warn("feed fetch failed or rejected", "source", d.feed.Source, "state", state, "err", err)
	}
	d.feed.AppliedThrough = epoch
	if len(applied) > 0 {
		d.log.Info("feed applied updates", "count", len(applied), "epoch", d.feed.AppliedThrough)
	}
}

// feedProgressEvery is how often a pull catching up logs its progress.
const feedProgressEvery = 5 * time.Second

// feedStatus is the feed's status now: stalled if the fetch in progress
// has run for FeedStallAfter, or (unless its log was refused, which says
// more) if nothing has come from it for that long.
func (d *Daemon) feedStatus() controlapi.FeedStatus {
	d.feedMu.Lock()
	defer d.feedMu.Unlock()
	f, after := d.feed, d.opts.FeedStallAfter
	switch {
	case !f.FetchingSince.IsZero() && time.Since(f.FetchingSince) >= after:
		f.State = controlapi.FeedStalled
	case f.State != controlapi.FeedOK && f.State != controlapi.FeedRejected && time.Since(d.feedSince) >= after:
		f.State = controlapi.FeedStalled
	}
	return f
}

// prepared is what ApplyUpdate readies while the ledger writes an update
// (ledger.ApplyHooks.Prepare): the data-plane change from the state before it,
// and the filter of the state after it.
type prepared struct {
	changes reconcile.Delta
	full    bool            // a full reconcile is needed: changes is not the whole change
	filter  *hostapi.Filter // compiled for res.Post; nil if not needed or if the node is isolated
}

// prepare computes an update's data-plane change and, when the change
// needs one, the filter of the state it makes. It runs while the ledger
// writes the update, on another goroutine but within ApplyUpdate's hold of
// d.mu (ApplyWith returns only after it): it reads the daemon's
// fields, never the ledger's. pre is the state the update extends.
func (d *Daemon) prepare(pre *membership.State, res *membership.Result, op *membership.Operation) prepared {
	var p prepared
	p.changes, p.full = reconcile.Changes(pre, res.Post, op, d.recOpts)
	if !p.full && filters(op.Type) && d.isolated == "" {
		f := d.compiler.Compile(res.Post.Policy(), res.Post, d.opts.NodeID, d.policyOptions())
		p.filter = &f
	}
	return p
}

// pushPrepared pushes an update's prepared change (not a full one) to the
// backend: the delta, and the filter of the committed state when the
// update can change it. It runs in the ledger's Committed hook (view is
// the ledger's standing after the commit), within ApplyUpdate's hold of
// d.mu. The update touched another node: this node's own standing, hence
// whether it is isolated, is unchanged.
func (d *Daemon) pushPrepared(ctx context.Context, ready prepared, op membership.OpType, view ledger.CommitView) error {
	changes := ready.changes
	changes.Routes = d.withoutImplied(changes.Routes)
	var f *hostapi.Filter // unchanged, unless the op can change it
	if filters(op) {
		var compiled hostapi.Filter
		if ready.filter != nil && d.isolated == "" && view.Restricted == nil && !view.Forked {
			// filterOf would compile the committed state, res.Post: it is done.
			compiled = *ready.filter
		} else {
			compiled = d.filterOf(d.isolated) // reads the ledger: waits for the mark
		}
		f = &compiled
	}
	return d.push(ctx, changes, f)
}

// filters reports whether an update of type op can change a node's packet
// filter: any change to a node (the policy selects nodes by id, tag and
// address) or to the policy; not one to approvers or the threshold.
func filters(op membership.OpType) bool {
	switch op {
	case membership.OpAddApprover, membership.OpRemoveApprover, membership.OpSetThreshold:
		return false
	}
	return true
}
