package main

import (
	"context"
	"fmt"

	"github.com/rustynet/rustynet/core/membership"
)

// verifyCommand is "membership verify-update".
func verifyCommand() *command {
	return &command{
		name:    "verify-update",
		args:    "[--from FILE|DIR | --config FILE [--store KIND|--store-plugin PATH] [--high-water FILE] | --socket PATH] [--genesis-root HEX] UPDATE",
		summary: "explain an update and check that applying it now would succeed",
		help: "Exits 0 only if apply-update would accept UPDATE now. Without --from or\n" +
			"--config it checks against the local daemon's log (verified here). A\n" +
			"genesis update is checked against the approvers it names, without a log.",
		run: runVerify,
	}
}

// applyCommand is "membership apply-update".
func applyCommand() *command {
	return &command{
		name: "apply-update",
		args: "[--from FILE|DIR | --state-dir DIR | --socket PATH] [--config FILE] [--store KIND|--store-plugin PATH [--store-plugin-sha256 HEX]] " +
			"[--high-water FILE] [--genesis-root HEX] [--dry-run] UPDATE",
		summary: "verify an update and apply it: to the running daemon, a log file or a node state directory",
		help: "Without --from or --state-dir the update goes to the running daemon over its\n" +
			"control API (found by --socket, or by the control socket of --config FILE);\n" +
			"the daemon verifies it itself and changes its data plane. With them,\n" +
			"--config only supplies the store, high-water mark and genesis root.\n" +
			"With --dry-run it verifies and shows what would change, and writes nothing.\n" +
			"--state-dir DIR is created if missing; an empty one accepts only a genesis\n" +
			"signed by every initial approver (and matching --genesis-root if given),\n" +
			"later updates chain from its head. A state directory in restricted-safe\n" +
			"mode refuses every update (RESTRICTED_MODE) until it is restored.",
		run: runApply,
	}
}

// runVerify implements "membership verify-update".
func runVerify(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet()
	lf := addLogFlags(fs)
	pos, err := e.parse(fs, args, 1)
	if err != nil {
		return err
	}
	u, _, err := readUpdate(pos[0])
	if err != nil {
		return err
	}
	var t *trustedLog
	if lf.hasSource() || u.Body.Operation.Type != membership.OpGenesis {
		if t, err = lf.load(ctx, e); err != nil {
			return err
		}
		defer t.close(ctx, true)
	}
	res, verr := e.evaluate(t, u)
	if err := e.printReport(buildReport(pos[0], t, res, verr)); err != nil {
		return err
	}
	if verr != nil {
		return withNextStep(rejected("", verr))
	}
	return nil
}

// evaluate verifies u against the head of t (including replay of an
// update already in t), or, if t is nil, as the genesis of a new network.
// The result is never nil.
func (e *env) evaluate(t *trustedLog, u *membership.SignedUpdate) (*membership.Result, error) {
	if t == nil {
		res, err := membership.Evaluate(membership.Empty(u.Body.NetworkID), u, membership.Options{Now: e.now()})
		return completeResult(res, nil, u), err
	}
	res, err := t.evaluate(u, e.now())
	return completeResult(res, t.state(), u), err
}

// completeResult fills in what a verdict that stopped early left out, so
// that it can be reported: the update, and the state it was checked
// against (pre, or the empty state of u's network).
func completeResult(res *membership.Result, pre *membership.State, u *membership.SignedUpdate) *membership.Result {
	if pre == nil {
		pre = membership.Empty(u.Body.NetworkID)
	}
	if res == nil {
		res = &membership.Result{Update: u}
	}
	if res.Pre == nil {
		res.Pre = pre
	}
	if res.Update == nil {
		res.Update = u
	}
	return res
}

// printReport prints a verification report as text or JSON.
func (e *env) printReport(r verifyReport) error {
	if e.json {
		return e.printJSON(r)
	}
	r.writeText(e.stdout)
	return nil
}

// applyOutput is what apply-update prints.
type applyOutput struct {
	Log        string `json:"log"`
	DryRun     bool   `json:"dry_run"`
	LogEntries int    `json:"log_entries"` // after the append
	updateInfo
	Verification *verifyReport `json:"verification,omitempty"` // with --dry-run
}

// runApply implements "membership apply-update".
func runApply(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet()
	lf := addLogFlags(fs)
	stateDir := fs.String("state-dir", "", "the node state `DIR` to apply to; created if missing")
	dryRun := fs.Bool("dry-run", false, "verify and show what would change; write nothing")
	pos, err := e.parse(fs, args, 1)
	if err != nil {
		return err
	}
	switch {
	case lf.from != "" && *stateDir != "":
		return e.usagef("give either --from or --state-dir, not both")
	case lf.from == "" && *stateDir == "":
		return e.applyToDaemon(ctx, lf.socket, lf.configFile, pos[0], *dryRun)
	case lf.socket != "":
		return e.usagef("--socket names a running daemon; it does not go with --from or --state-dir")
	}
	u, _, err := readUpdate(pos[0])
	if err != nil {
		return err
	}
	var t *trustedLog
	if *stateDir != "" {
		t, err = lf.loadDir(ctx, e, *stateDir, true)
	} else {
		t, err = lf.load(ctx, e)
	}
	if err != nil {
		return err
	}
	if t.sd != nil {
		return e.applyToDir(ctx, t, pos[0], u, *dryRun)
	}
	res, verr := e.evaluate(t, u)
	if verr != nil {
		if *dryRun {
			if err := e.printReport(buildReport(pos[0], t, res, verr)); err != nil {
				return err
			}
		}
		return withNextStep(rejected("", verr))
	}
	o := applyOutput{Log: t.path, DryRun: *dryRun, LogEntries: int(u.Body.Epoch), updateInfo: describeUpdate(res.Pre, u)}
	if *dryRun {
		r := buildReport(pos[0], t, res, nil)
		o.Verification = &r
	} else if err := appendToLog(t, u, res.Post); err != nil {
		return err
	}
	return e.printApply(o)
}

// applyToDir applies u (read from file) to the ledger of the state
// directory t, or with dryRun only verifies it, and closes t. The ledger
// appends durably and advances the high-water mark before it reports
// success; on any error nothing is written.
func (e *env) applyToDir(ctx context.Context, t *trustedLog, file string, u *membership.SignedUpdate, dryRun bool) (err error) {
	applied := false
	defer func() {
		if cerr := t.close(ctx, applied); cerr != nil && err == nil {
			e.notef("closing the store of %s: %v", t.path, cerr)
		}
	}()
	l, pre := t.sd.ledger, t.state()
	var res *membership.Result
	var verr error
	if dryRun {
		res, verr = l.Evaluate(u)
	} else {
		res, verr = l.Apply(ctx, u)
	}
	res = completeResult(res, pre, u)
	if verr != nil {
		if dryRun {
			if err := e.printReport(buildReport(file, t, res, verr)); err != nil {
				return err
			}
		}
		return withNextStep(storeError("", verr))
	}
	o := applyOutput{Log: t.path, DryRun: dryRun, LogEntries: int(u.Body.Epoch), updateInfo: describeUpdate(res.Pre, u)}
	if dryRun {
		r := buildReport(file, t, res, nil)
		o.Verification = &r
	} else {
		applied = true
		if err := l.Close(ctx); err != nil {
			e.notef("writing the snapshot of %s: %v", t.path, err)
		}
	}
	return e.printApply(o)
}

// appendToLog appends the verified update u, which leads to post, to the
// log file of t, atomically.
//
// A fork resolution of an epoch the log has replaces the entries from that
// epoch on (docs/forks.md): the log then ends with it.
func appendToLog(t *trustedLog, u *membership.SignedUpdate, post *membership.State) error {
	keep := len(t.entries)
	if t.settledBy(u) {
		keep = int(u.Body.Epoch - 1)
	}
	entries := append(t.entries[:keep:keep], u)
	data := membership.EncodeLog(entries)
	if err := checkReadsBack(data, t.genesisRoot(), post); err != nil {
		return err
	}
	return rewriteFile(t.path, t.raw, data)
}

// checkReadsBack verifies that the log about to be written replays to
// post, so the CLI never writes a log it could not load again.
func checkReadsBack(data []byte, genesis membership.Hash, post *membership.State) error {
	entries, err := membership.ParseLog(data, nil)
	if err != nil {
		return internalErrorf("the new log does not parse: %v", err)
	}
	c, _, err := membership.Replay(entries, genesis, nil)
	if err != nil {
		return internalErrorf("the new log does not verify: %v", err)
	}
	if c.State().Root() != post.Root() {
		return internalErrorf("the new log replays to root %s, not %s", c.State().Root(), post.Root())
	}
	return nil
}

// printApply prints the outcome of apply-update.
func (e *env) printApply(o applyOutput) error {
	if e.json {
		return e.printJSON(o)
	}
	if o.DryRun {
		o.Verification.writeText(e.stdout)
		fmt.Fprintf(e.stdout, "dry run: %s not changed; applying would make epoch %d, state root %s\n", o.Log, o.Epoch, o.NewStateRoot)
		return nil
	}
	fmt.Fprintf(e.stdout, "applied %s (%s) to %s\n", o.UpdateID, o.Operation, o.Log)
	for _, c := range o.Changes {
		fmt.Fprintf(e.stdout, "  %s\n", c)
	}
	fmt.Fprintf(e.stdout, "epoch: %d\nstate root: %s\n", o.Epoch, o.NewStateRoot)
	return nil
}
