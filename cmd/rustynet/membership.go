package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/rustynet/rustynet/core/config"
	"github.com/rustynet/rustynet/core/membership"
)

// membershipCommand is the "membership" group: offline governance of a
// network's membership through quorum-signed updates, portable logs and
// node state directories.
func membershipCommand() *command {
	subs := []*command{initCommand()}
	subs = append(subs, proposeCommands()...)
	subs = append(subs, signCommand(), unsignCommand(), verifyCommand(), applyCommand(), statusCommand(), exportCommand(),
		verifyLogCommand(), verifyEvidenceCommand(), proposeResolveForkCommand(), backupCommand(), restoreCommand())
	return &command{
		name:    "membership",
		summary: "create, propose, sign, verify and apply membership updates",
		help: "--from STATE names a portable log FILE (a JSON array of signed updates\n" +
			"from genesis on; a signed genesis file is a log of one) or a node state\n" +
			"DIR (kept by a store plugin: --store file|sqlite, or --store-plugin PATH).\n" +
			"Without --from, --config FILE names the node's state directory; without\n" +
			"either, the log is read from the local daemon (the one `rustynet status`\n" +
			"finds, or --socket PATH). Every log is verified here, entry by entry, the\n" +
			"daemon's too; pin its genesis with --genesis-root HEX, the genesis_root of\n" +
			"--config FILE (the node's configuration, which also names its state\n" +
			"directory, store and high-water mark; the daemon's, when it was found\n" +
			"through its configuration) or $RUSTYNET_GENESIS_ROOT.\n" +
			"A state directory is only ever opened through its store plugin, and its\n" +
			"high-water mark (--high-water) detects a rollback of the whole directory.",
		subs: subs,
	}
}

// logFlags are the flags of every command that reads a trusted log.
type logFlags struct {
	from        string
	genesisRoot string
	socket      string // --socket: the daemon to read the log from
	configFile  string
	state       *stateFlags    // nil for a command that opens no state directory
	cfg         *config.Config // --config once read (see config)
}

// addLogFlags defines --from, --genesis-root, --config, --socket and the
// state directory flags on fs.
func addLogFlags(fs *flag.FlagSet) *logFlags {
	lf := &logFlags{}
	fs.StringVar(&lf.from, "from", "", "the portable log `FILE` or node state directory to verify against (default: --config's state directory, else the local daemon's log)")
	lf.addPin(fs)
	lf.addConfig(fs)
	lf.addSocket(fs)
	lf.state = addStateFlags(fs)
	return lf
}

// addPin defines --genesis-root on fs.
func (lf *logFlags) addPin(fs *flag.FlagSet) {
	fs.StringVar(&lf.genesisRoot, "genesis-root", "", "pin the genesis state root (`HEX`; default: --config's, else $"+genesisRootEnv+"); without a pin the log's own genesis is trusted")
}

// trustedLog is a log that passed verification from its genesis: a
// portable log file, the log a daemon served, or the ledger of a node
// state directory (a directory or a daemon may be in restricted-safe
// mode: then it holds the longest verified prefix).
type trustedLog struct {
	path    string
	raw     []byte // a file as read, to detect concurrent change on rewrite
	entries []*membership.SignedUpdate
	chain   *membership.Chain // a file's or daemon's replayed chain; nil for a state directory or an empty log
	sd      *stateDir         // the state directory; nil for a file or a daemon
	pinned  bool              // the genesis root matched the pin (logFlags.pin)
	// daemon is the control socket of the daemon the log came from; ""
	// for a file or a state directory. restrictedReason is why that
	// daemon is in restricted-safe mode, while it is.
	daemon           string
	restrictedReason string
}

// empty reports whether the log holds no genesis yet (a new state
// directory).
func (t *trustedLog) empty() bool { return len(t.entries) == 0 }

// genesisRoot returns the state root the log's genesis produced; zero for
// an empty log.
func (t *trustedLog) genesisRoot() membership.Hash {
	if t.empty() {
		return membership.Hash{}
	}
	return t.entries[0].Body.NewStateRoot
}

// state returns the trusted state at the head of the log, nil if empty.
func (t *trustedLog) state() *membership.State {
	if t.sd != nil {
		return t.sd.ledger.State()
	}
	if t.chain == nil {
		return nil
	}
	return t.chain.State()
}

// evaluate verifies u against the head of the log, replay of an update
// already in the log included, at now. A fork resolution that settles the
// log's entry at its epoch is verified on the state it extends, the log's
// at its epoch − 1 (see settledBy).
func (t *trustedLog) evaluate(u *membership.SignedUpdate, now time.Time) (*membership.Result, error) {
	if t.sd != nil {
		return t.sd.ledger.Evaluate(u)
	}
	if t.chain == nil { // an empty log: only a genesis can start it
		return membership.Evaluate(membership.Empty(u.Body.NetworkID), u, membership.Options{Now: now})
	}
	if t.settledBy(u) {
		c, _, err := membership.Replay(t.entries[:u.Body.Epoch-1], membership.Hash{}, nil) // verified already, from the pinned genesis
		if err != nil {
			return nil, err
		}
		return c.Evaluate(u, membership.Options{Now: now})
	}
	return t.chain.Evaluate(u, membership.Options{Now: now})
}

// settledBy reports whether u is a fork resolution of a log file's (or a
// daemon's) entry: a resolve_fork of an epoch the log has, extending the
// log's state before it, that carries the log's entry there. Applied to a
// log file it replaces the entries from its epoch on (appendToLog).
func (t *trustedLog) settledBy(u *membership.SignedUpdate) bool {
	e := u.Body.Epoch
	return t.sd == nil && u.Body.Operation.Type == membership.OpResolveFork && e >= 2 && e <= uint64(len(t.entries)) &&
		u.Body.PrevStateRoot == t.entries[e-2].Body.NewStateRoot && membership.Supersedes(u, t.entries[e-1])
}

// close releases a state directory's store plugin; keep as for
// stateDir.close.
func (t *trustedLog) close(ctx context.Context, keep bool) error {
	if t.sd == nil {
		return nil
	}
	return t.sd.close(ctx, keep)
}

// requireTrusted refuses, for a command doing what, a state directory or
// daemon in restricted-safe mode (RESTRICTED_MODE) or one that holds no
// genesis yet (a usage error).
func (t *trustedLog) requireTrusted(what string) error {
	if t.daemon != "" {
		return t.requireDaemonTrusted(what)
	}
	if t.sd == nil {
		return nil
	}
	if err := t.sd.restricted(what); err != nil {
		return err
	}
	if t.empty() {
		return usageErrorf("%s: state directory %s holds no membership yet: apply a signed genesis first (rustynet membership apply-update --state-dir %s GENESIS)", what, t.path, t.path)
	}
	return nil
}

// load reads and verifies the log named by --from: a log file, every entry
// from the genesis (pinned to --genesis-root if given) on; or a state
// directory, through its store plugin. Without --from it is the state
// directory of --config, else the log of the daemon (--socket, else the
// local one; see loadDaemon). The caller must close it.
func (lf *logFlags) load(ctx context.Context, e *env) (*trustedLog, error) {
	if lf.socket != "" {
		if lf.from != "" {
			return nil, e.usagef("give either --from or --socket, not both")
		}
		return lf.loadDaemon(ctx, e, false)
	}
	if lf.from == "" {
		dir, err := lf.stateDir("")
		if err != nil {
			return nil, err
		}
		if dir == "" {
			return lf.loadDaemon(ctx, e, false)
		}
		return lf.loadDir(ctx, e, dir, false)
	}
	if info, err := os.Stat(lf.from); err == nil && info.IsDir() {
		return lf.loadDir(ctx, e, lf.from, false)
	}
	return lf.loadFile(e)
}

// loadIfAny is load for a command that can do without a log (signing
// offline): with nothing named and no daemon answering, it returns nil.
func (lf *logFlags) loadIfAny(ctx context.Context, e *env) (*trustedLog, error) {
	if lf.hasSource() {
		return lf.load(ctx, e)
	}
	return lf.loadDaemon(ctx, e, true)
}

// loadDir opens the state directory dir and takes its ledger as the log;
// create as for openStateDir.
func (lf *logFlags) loadDir(ctx context.Context, e *env, dir string, create bool) (*trustedLog, error) {
	pin, err := lf.pin(e)
	if err != nil {
		return nil, err
	}
	sd, err := e.openStateDir(ctx, lf.state, dir, create, pin)
	if err != nil {
		return nil, err
	}
	entries, err := sd.ledger.Log()
	if err != nil {
		sd.close(ctx, true)
		return nil, err
	}
	t := &trustedLog{path: dir, entries: entries, sd: sd, pinned: pin != membership.Hash{}}
	notePin(e, t)
	return t, nil
}

// loadFile reads and verifies the log file named by --from.
func (lf *logFlags) loadFile(e *env) (*trustedLog, error) {
	pin, err := lf.pin(e)
	if err != nil {
		return nil, err
	}
	raw, err := readInput(lf.from)
	if err != nil {
		return nil, err
	}
	entries, err := membership.ParseLog(raw, nil)
	if err != nil {
		return nil, rejected(lf.from, err)
	}
	chain, applied, err := membership.Replay(entries, pin, nil)
	if err != nil {
		return nil, rejected(fmt.Sprintf("%s: entry %d", lf.from, applied+1), err)
	}
	t := &trustedLog{path: lf.from, raw: raw, entries: entries, chain: chain, pinned: pin != membership.Hash{}}
	notePin(e, t)
	return t, nil
}

// notePin notes that the genesis the log was verified from is its own.
func notePin(e *env, t *trustedLog) {
	if !t.pinned && !t.empty() {
		e.noteUnpinned(t.path, t.genesisRoot())
	}
}

// readUpdate reads and decodes a signed update file. It checks form only.
func readUpdate(path string) (*membership.SignedUpdate, []byte, error) {
	raw, err := readInput(path)
	if err != nil {
		return nil, nil, err
	}
	u, err := membership.ParseSignedUpdate(raw, nil)
	if err != nil {
		return nil, nil, rejected(path, err)
	}
	return u, raw, nil
}
