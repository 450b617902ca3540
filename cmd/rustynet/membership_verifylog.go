package main

import (
	"context"
	"fmt"

	"github.com/rustynet/rustynet/core/membership"
)

// verifyLogCommand is "membership verify-log".
func verifyLogCommand() *command {
	return &command{
		name:    "verify-log",
		args:    "[--state-dir DIR | --config FILE [--store KIND|--store-plugin PATH [--store-plugin-sha256 HEX]] [--high-water FILE] | --socket PATH] [--genesis-root HEX] [--json]",
		summary: "re-verify a node state directory (every entry, the snapshot and the high-water mark), or the local daemon's log",
		help: "Works on a stopped node's directory or on a copy, a read-only one\n" +
			"included. Prints `ok: epoch N root R entries N`, or exits 1 with\n" +
			"INTEGRITY_FAILURE and the reason (the directory is then in\n" +
			"restricted-safe mode; see docs/restricted-mode.md). Without --store,\n" +
			"the store whose directory it is reads it; a --store naming another\n" +
			"is refused with CONFLICT. It creates and changes nothing: no lock\n" +
			"file, and no high-water mark (the log is compared with the mark, not\n" +
			"recorded in it). Without --state-dir or --config it verifies here,\n" +
			"entry by entry, the log the running local daemon serves (--socket\n" +
			"names another); its files are the daemon's to check.",
		run: runVerifyLog,
	}
}

// verifyLogOutput is what verify-log prints.
type verifyLogOutput struct {
	StateDir      string `json:"state_dir"`
	Store         string `json:"store"`
	Result        string `json:"result"`          // "ok" or INTEGRITY_FAILURE
	Error         string `json:"error,omitempty"` // why, if not ok
	NetworkID     string `json:"network_id"`      // "" for an empty directory
	GenesisRoot   string `json:"genesis_root"`    // "" for an empty directory
	GenesisPinned bool   `json:"genesis_pinned"`  // the genesis matched --genesis-root
	Epoch         uint64 `json:"epoch"`           // of the log, or of its longest verified prefix
	StateRoot     string `json:"state_root"`      // likewise; "" for an empty directory
	Entries       uint64 `json:"entries"`         // verified entries
	// Forked is the summary of the fork the directory's evidence proves
	// (docs/forks.md); empty if none. The log itself still verifies.
	Forked string `json:"forked,omitempty"`
}

// runVerifyLog implements "membership verify-log".
func runVerifyLog(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet()
	lf := &logFlags{state: addStateFlags(fs)}
	lf.addPin(fs)
	lf.addConfig(fs)
	lf.addSocket(fs)
	stateDir := fs.String("state-dir", "", "the node state `DIR` to verify (default: --config's, else the local daemon's log)")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	if lf.socket != "" && *stateDir != "" {
		return e.usagef("give either --state-dir or --socket, not both")
	}
	dir, err := lf.stateDir(*stateDir)
	if err != nil {
		return err
	}
	if dir == "" || lf.socket != "" {
		return e.verifyDaemonLog(ctx, lf)
	}
	t, err := lf.loadDir(ctx, e, dir, false)
	if err != nil {
		return err
	}
	defer t.close(ctx, true)
	st := t.sd.ledger.Status()
	o := verifyLogOutput{StateDir: t.path, Store: t.sd.store.name(), Result: "ok", GenesisPinned: t.pinned, Epoch: st.Epoch, Entries: st.Head}
	if !t.empty() {
		o.NetworkID, o.GenesisRoot, o.StateRoot = st.NetworkID, t.genesisRoot().String(), st.Root.String()
	}
	o.Forked = st.Forked
	if o.Forked != "" {
		e.notef("FORKED: %s; the node accepts no update until the fork is resolved (docs/forks.md)", o.Forked)
	}
	return e.finishVerifyLog(o, t.sd.ledger.Restricted())
}

// verifyDaemonLog is verify-log of the log the daemon serves (--socket,
// else the local daemon), verified here from its genesis: its files are
// the daemon's to check.
func (e *env) verifyDaemonLog(ctx context.Context, lf *logFlags) error {
	t, err := lf.loadDaemon(ctx, e, false)
	if err != nil {
		return err
	}
	o := verifyLogOutput{StateDir: t.path, Store: "daemon", Result: "ok", GenesisPinned: t.pinned, Entries: uint64(len(t.entries))}
	if s := t.state(); s != nil {
		o.NetworkID, o.GenesisRoot, o.Epoch, o.StateRoot = s.NetworkID(), t.genesisRoot().String(), s.Epoch(), s.Root().String()
	}
	var restricted error
	if t.restrictedReason != "" {
		restricted = &membership.Error{Code: membership.IntegrityFailure, Msg: joinContext(t.path, t.restrictedReason)}
	}
	return e.finishVerifyLog(o, restricted)
}

// finishVerifyLog reports the verification o, and restricted, why its log
// is in restricted-safe mode (nil if it is not).
func (e *env) finishVerifyLog(o verifyLogOutput, restricted error) error {
	if restricted != nil {
		ce := asCLIError(integrityFailure(restricted))
		o.Result, o.Error = ce.code, ce.msg
		e.notef("the longest verified prefix of the log ends at epoch %d (state root %s); recover with `rustynet membership restore`", o.Epoch, orNone(o.StateRoot))
	}
	if e.json {
		if err := e.printJSON(o); err != nil {
			return err
		}
	} else if restricted == nil {
		fmt.Fprintf(e.stdout, "ok: epoch %d root %s entries %d\n", o.Epoch, orNone(o.StateRoot), o.Entries)
	}
	if restricted != nil {
		return integrityFailure(restricted)
	}
	return nil
}

// integrityFailure reports why a ledger is in restricted-safe mode as an
// INTEGRITY_FAILURE, whatever code the first failure carried.
func integrityFailure(reason error) error {
	ce := asCLIError(rejected("", reason))
	msg := ce.msg
	if ce.code != string(membership.IntegrityFailure) {
		msg = joinContext(ce.code, msg)
	}
	return &cliError{code: string(membership.IntegrityFailure), exit: exitRejected, msg: msg}
}

// orNone returns s, or "-" if it is empty.
func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
