package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/rustynet/rustynet/core/audit"
	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/ledger"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/pluginhost"
	"github.com/rustynet/rustynet/hostapi"
)

// AuditOptions configure the node's audit trail (core/audit).
type AuditOptions struct {
	// Dir is the audit directory; "" means audit.DirFor(StateDir), the
	// sibling <state_dir>.audit.
	Dir string
	// Disabled runs the node without an audit trail.
	Disabled bool
	// Limits bound the log; zero fields mean audit's defaults.
	Limits audit.Limits
}

// auditTrail is the daemon's recorder. Recording never blocks (see
// core/audit), so the daemon records while holding d.mu: an audit write is
// never done under a lock, and a full or failing audit log never holds up
// an apply.
type auditTrail struct {
	log     *audit.Log // nil without an audit trail
	openErr error      // why it could not be opened, if it could not
	// feedMu guards feedLast, the last feed rejection recorded (code and
	// reason), so that a feed that keeps serving the same refused log is
	// recorded once, not at every poll; "" after a fetch that was not
	// refused. Nothing is called under it.
	feedMu   sync.Mutex
	feedLast string
}

// openAudit opens the audit log before anything that records runs (the
// plugin supervisors). Failing to open it is logged and reported by the
// health status; the node runs without it.
func (d *Daemon) openAudit() {
	o := d.opts.Audit
	if o.Disabled {
		return
	}
	dir := o.Dir
	if dir == "" {
		dir = audit.DirFor(d.opts.StateDir)
	}
	l, err := audit.Open(audit.Config{Dir: dir, Node: d.opts.NodeID, Limits: o.Limits, Logger: d.log})
	if err != nil {
		d.aud.openErr = err
		d.log.Error("running without an audit log", "err", err)
		return
	}
	d.aud.log = l
}

// record queues r in the audit log, if there is one.
func (d *Daemon) record(r audit.Record) { d.aud.log.Record(r) }

// auditStart records the start: the trusted head found (audit.opened),
// the genesis if this start applied it, and how trust changed since the
// last record of the previous run — restricted-safe mode, a recovery out
// of it, or a head changed while the node was stopped.
func (d *Daemon) auditStart(bootstrapped bool) {
	if d.aud.log == nil {
		return
	}
	prev := d.aud.log.Last()
	ls := d.ledger.Status()
	epoch, root := head(ls)
	if bootstrapped {
		if log := d.ledger.Entries(1, 1); len(log) > 0 {
			r := updateRecord(audit.KindUpdateAccepted, audit.SourceConfig, log[0], d.ledger.State())
			r.Epoch, r.Root = log[0].Body.Epoch, log[0].Body.NewStateRoot.String()
			d.record(r)
		}
	}
	opened := audit.Record{Kind: audit.KindOpened, Epoch: epoch, Root: root}
	var code, why string
	if ls.Restricted {
		code, why = rejectionOf(d.ledger.Restricted())
		opened.Code, opened.Reason = string(membership.RestrictedMode), why
	}
	d.record(opened)
	switch {
	case ls.Restricted:
		d.record(audit.Record{Kind: audit.KindTrustRestricted, Epoch: epoch, Root: root, Code: code, Reason: why})
	case prev == nil:
	case prev.Kind == audit.KindTrustRestricted || prev.Code == string(membership.RestrictedMode):
		d.record(audit.Record{Kind: audit.KindTrustRecovered, PrevEpoch: prev.Epoch, PrevRoot: prev.Root, Epoch: epoch, Root: root,
			Reason: "the state directory verifies again (restored while the node was stopped)"})
	case prev.Epoch != epoch || prev.Root != root:
		d.record(audit.Record{Kind: audit.KindTrustChanged, PrevEpoch: prev.Epoch, PrevRoot: prev.Root, Epoch: epoch, Root: root,
			Reason: "the trusted head changed while the node was stopped (an offline apply-update or restore)"})
	}
}

// auditClose records a clean stop and closes the log.
func (d *Daemon) auditClose() {
	if d.aud.log == nil {
		return
	}
	if d.ledger != nil {
		ls := d.ledger.Status()
		r := audit.Record{Kind: audit.KindClosed}
		r.Epoch, r.Root = head(ls)
		if ls.Restricted {
			_, why := rejectionOf(d.ledger.Restricted())
			r.Code, r.Reason = string(membership.RestrictedMode), why
		}
		d.record(r)
	}
	d.aud.log.Close()
}

// auditAccepted records an update committed through the control API.
func (d *Daemon) auditAccepted(src audit.Source, res *membership.Result, data []byte) {
	if d.aud.log == nil {
		return
	}
	r := updateRecord(audit.KindUpdateAccepted, src, res.Update, nil)
	r.Signers = nil
	for _, s := range res.Auth.Signers {
		if s.Valid && s.ID != "" {
			r.Signers = append(r.Signers, s.ID)
		}
	}
	r.Digest = digest(data)
	r.Epoch, r.Root = res.Post.Epoch(), res.Post.Root().String()
	if res.Pre != nil {
		r.PrevEpoch, r.PrevRoot = res.Pre.Epoch(), res.Pre.Root().String()
	}
	d.record(r)
}

// auditRejected records an update that was not applied: refused by the
// trust engine (its code), or not applied for another reason, such as a
// store failure (the plugin contract's code, else INTERNAL). u is nil if
// the file did not even parse.
func (d *Daemon) auditRejected(src audit.Source, err error, data []byte, u *membership.SignedUpdate) {
	if d.aud.log == nil {
		return
	}
	r := audit.Record{Kind: audit.KindUpdateRejected, Source: src}
	if u != nil {
		r = updateRecord(audit.KindUpdateRejected, src, u, nil)
	}
	r.Code, r.Reason = rejectionOf(err)
	if data != nil {
		r.Digest = digest(data)
	}
	r.Epoch, r.Root = head(d.ledger.Status())
	d.record(r)
}

// auditFeed records what one fetch of the feed did: each update it
// applied (log[from:from+n]), and its refusal, unless the feed refused the
// same way at the previous fetch. Called holding no lock.
func (d *Daemon) auditFeed(log []*membership.SignedUpdate, from uint64, n int, err error) {
	d.auditExtend(audit.SourceFeed, log, from, n, err)
}

// auditExtend records what extending the ledger with log from src did (a
// fetch of the feed, or entries from a peer), as auditFeed says.
func (d *Daemon) auditExtend(src audit.Source, log []*membership.SignedUpdate, from uint64, n int, err error) {
	if d.aud.log == nil {
		return
	}
	if n > 0 {
		state := d.ledger.State()
		for _, u := range log[from : from+uint64(n)] {
			r := updateRecord(audit.KindUpdateAccepted, src, u, state)
			r.Epoch, r.Root = u.Body.Epoch, u.Body.NewStateRoot.String()
			r.PrevEpoch, r.PrevRoot = u.Body.Epoch-1, u.Body.PrevStateRoot.String()
			d.record(r)
		}
	}
	if membership.CodeOf(err) == "" {
		if err == nil {
			d.aud.feedMu.Lock()
			d.aud.feedLast = ""
			d.aud.feedMu.Unlock()
		}
		return // a fetch that failed says nothing about the updates
	}
	code, reason := rejectionOf(err)
	key := string(src) + "\x00" + code + "\x00" + reason
	d.aud.feedMu.Lock()
	repeat := key == d.aud.feedLast
	d.aud.feedLast = key
	d.aud.feedMu.Unlock()
	if !repeat {
		r := audit.Record{Kind: audit.KindUpdateRejected, Source: src, Code: code, Reason: reason}
		r.Epoch, r.Root = head(d.ledger.Status())
		d.record(r)
	}
}

// auditSettleMax bounds auditSettle.
const auditSettleMax = 100 * time.Millisecond

// auditSettle waits, briefly and holding no lock, until what the current
// control API call recorded is written: so that the audit record of an
// update is durable by the time its sender hears the verdict (the update
// itself is committed and in the data plane before). It waits at most
// auditSettleMax, and not at all for a failing log.
func (d *Daemon) auditSettle() {
	if d.aud.log == nil || d.aud.log.Status().Failing != "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), auditSettleMax)
	defer cancel()
	d.aud.log.Sync(ctx)
}

// auditPlugin returns a supervisor hook that records kind for a plugin.
func (d *Daemon) auditPlugin(kind audit.Kind) func(pluginhost.Status) {
	return func(st pluginhost.Status) {
		r := audit.Record{Kind: kind, Plugin: st.Name, Restarts: st.Restarts}
		if kind != audit.KindPluginRelaunched {
			r.Reason = st.LastError
		}
		d.record(r)
	}
}

// auditHealth adds to h why the audit trail is not working, if it is not:
// it could not be opened, or its writes fail (events are being lost).
func (d *Daemon) auditHealth(h *controlapi.HealthStatus) {
	var why string
	switch {
	case d.opts.Audit.Disabled:
		return
	case d.aud.openErr != nil:
		why = "no audit log: " + d.aud.openErr.Error()
	default:
		st := d.aud.log.Status()
		if st.Failing == "" {
			return
		}
		why = fmt.Sprintf("the audit log cannot be written (%s); %d event(s) not recorded so far", st.Failing, st.Lost)
	}
	h.State = controlapi.HealthDegraded
	h.Reasons = append(h.Reasons, why)
}

// updateRecord describes u (its id, claimed epoch, operation and target,
// and — if state is given — the approvers among its signers, by id).
func updateRecord(kind audit.Kind, src audit.Source, u *membership.SignedUpdate, state *membership.State) audit.Record {
	op := &u.Body.Operation
	r := audit.Record{Kind: kind, Source: src, UpdateID: hex.EncodeToString(u.Body.UpdateID[:]), UpdateEpoch: u.Body.Epoch,
		Op: string(op.Type), Target: target(op)}
	if state != nil {
		for _, s := range u.Signatures {
			if a, ok := state.ApproverByKey(s.PublicKey); ok {
				r.Signers = append(r.Signers, a.ID)
			}
		}
	}
	return r
}

// target is what op names: a node, an approver, a threshold.
func target(op *membership.Operation) string {
	switch op.Type {
	case membership.OpAddNode:
		return op.Node.ID
	case membership.OpAddApprover:
		return op.Approver.ID
	case membership.OpRemoveApprover:
		return op.ApproverID
	case membership.OpSetThreshold:
		return strconv.FormatUint(op.Threshold, 10)
	case membership.OpGenesis, membership.OpSetPolicy:
		return ""
	}
	return op.NodeID
}

// rejectionOf returns the code and reason an audit record gives err.
func rejectionOf(err error) (code, reason string) {
	if c := membership.CodeOf(err); c != "" {
		var me *membership.Error
		if errors.As(err, &me) {
			return string(c), me.Msg
		}
		return string(c), err.Error()
	}
	return hostapi.CodeOf(err).String(), err.Error()
}

// head returns a ledger status's epoch and state root ("" before genesis).
func head(ls ledger.Status) (uint64, string) {
	if ls.Epoch == 0 {
		return 0, ""
	}
	return ls.Epoch, ls.Root.String()
}

// digest is the SHA-256 of an update file as received.
func digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
