package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"syscall"

	"github.com/rustynet/rustynet/core/config"
	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
)

// This file reads the trusted log from the local daemon, the default
// source of every membership command that reads one (SPEC §8): without
// --from and without --config, the log comes over the control API
// (GET /v1/log) and is verified here, from its genesis, exactly as a log
// file is — the daemon is not trusted more than a file. Reading writes
// nothing.

// addSocket defines --socket on fs.
func (lf *logFlags) addSocket(fs *flag.FlagSet) {
	fs.StringVar(&lf.socket, "socket", "", "read the log from the running daemon at this control `SOCKET` (default with neither --from nor --config: the local daemon, found as `rustynet status` finds it)")
}

// noSourceHint is the next step when no log was named and no daemon
// answers.
const noSourceHint = hintPrefix + "name the log to read: --from FILE|DIR (a portable log, e.g. from `rustynet membership export`, " +
	"or a node state directory) or --config FILE (the node's configuration); or start the daemon (`rustynet daemon --config FILE`) or pass --socket"

// daemonSource returns the control socket of the daemon to read from —
// --socket, else the local daemon's as `rustynet status` finds it — and
// the configuration it was found through (nil for --socket or a default
// socket).
func (lf *logFlags) daemonSource() (string, *config.Config, error) {
	if lf.socket != "" {
		return lf.socket, nil, nil
	}
	return localDaemon()
}

// loadDaemon reads the daemon's trusted log and verifies it from its
// genesis, pinned to the pin of the flags (logFlags.pin), else to the
// genesis_root of the configuration the daemon's socket was found
// through, else to nothing (the log's own genesis, noted). The genesis
// root the daemon names must agree with the log's. A daemon that does
// not answer is a usage error saying what to pass instead, unless
// optional: then the result is nil, nil.
func (lf *logFlags) loadDaemon(ctx context.Context, e *env, optional bool) (*trustedLog, error) {
	socket, cfg, err := lf.daemonSource()
	if err != nil {
		return nil, err
	}
	pin, err := lf.pin(e)
	if err != nil {
		return nil, err
	}
	pinned := pin != membership.Hash{}
	if !pinned && cfg != nil && cfg.Membership.GenesisRoot != (membership.Hash{}) {
		pin, pinned = cfg.Membership.GenesisRoot, true
	}
	c := controlapi.Dial(socket)
	defer c.Close()
	head, entries, err := c.Log(ctx)
	if err != nil {
		if notAnswering(err) {
			if optional {
				return nil, nil
			}
			ce := asCLIError(unreachableDaemon("no --from or --config given, and reading the log from the local daemon", err))
			return nil, &cliError{code: codeUsage, exit: exitUsage, msg: ce.msg, hint: noSourceHint}
		}
		return nil, daemonError("reading the log from the daemon", err)
	}
	t := &trustedLog{path: "the daemon at " + socket, entries: entries, daemon: socket, restrictedReason: head.Restricted, pinned: pinned}
	if len(entries) == 0 {
		return t, nil
	}
	if head.GenesisRoot != "" && head.GenesisRoot != entries[0].Body.NewStateRoot.String() {
		return nil, rejected(t.path, &membership.Error{Code: membership.IntegrityFailure,
			Msg: fmt.Sprintf("the log's genesis root %s is not the root %s the daemon says it pins", entries[0].Body.NewStateRoot, head.GenesisRoot)})
	}
	chain, applied, err := membership.Replay(entries, pin, nil)
	if err != nil {
		return nil, rejected(fmt.Sprintf("%s: entry %d", t.path, applied+1), err)
	}
	t.chain = chain
	notePin(e, t)
	return t, nil
}

// notAnswering reports whether err means no daemon is there: its socket
// does not exist or nothing accepts on it.
func notAnswering(err error) bool {
	var ce *controlapi.Error
	return !errors.As(err, &ce) && membership.CodeOf(err) == "" &&
		(errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED))
}

// requireDaemonTrusted is requireTrusted for a log read from a daemon: a
// daemon in restricted-safe mode (RESTRICTED_MODE) or without membership
// (a usage error) cannot be the base of a change.
func (t *trustedLog) requireDaemonTrusted(what string) error {
	if t.restrictedReason != "" {
		return &membership.Error{Code: membership.RestrictedMode,
			Msg: fmt.Sprintf("%s: %s is in restricted-safe mode (%s); its log ends at the longest verified prefix", what, t.path, t.restrictedReason)}
	}
	if t.empty() {
		return usageErrorf("%s: %s holds no membership yet: it applies a signed genesis first", what, t.path)
	}
	return nil
}
