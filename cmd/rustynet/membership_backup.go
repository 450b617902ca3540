package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rustynet/rustynet/core/ledger"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/atomicfile"
)

// backupCommand is "membership backup".
func backupCommand() *command {
	return &command{
		name:    "backup",
		args:    "--state-dir DIR | --config FILE [--store KIND|--store-plugin PATH [--store-plugin-sha256 HEX]] [--high-water FILE] [--genesis-root HEX] --out FILE [--force]",
		summary: "write a verified portable log of a node state directory, for restore",
		help: "The directory is verified completely first; one in restricted-safe mode\n" +
			"is refused (RESTRICTED_MODE): back up only what verifies. FILE (mode\n" +
			"0600) is the portable log that `membership restore` takes back.",
		run: runBackup,
	}
}

// restoreCommand is "membership restore".
func restoreCommand() *command {
	return &command{
		name:    "restore",
		args:    "(--state-dir DIR | --config FILE) --from FILE [--store KIND|--store-plugin PATH [--store-plugin-sha256 HEX]] [--high-water FILE] [--genesis-root HEX]",
		summary: "rebuild a node state directory from a verified log, moving the old one aside",
		help: "On a stopped node (a directory a running node holds fails with LOCKED).\n" +
			"FILE (a backup, an export, or a log from any other node) is verified\n" +
			"completely from the (pinned) genesis and must reach this directory's\n" +
			"high-water mark with the same root there: an older backup is refused as a\n" +
			"rollback. Only then is the existing DIR renamed to DIR.corrupt-<UTC time>\n" +
			"(never deleted) and the restored directory put in its place. On any\n" +
			"error DIR stays as it was. --store may differ from the old directory's:\n" +
			"restoring moves a node to another store.",
		run: runRestore,
	}
}

// runBackup implements "membership backup".
func runBackup(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet()
	lf := &logFlags{state: addStateFlags(fs)}
	lf.addPin(fs)
	lf.addConfig(fs)
	stateDir := fs.String("state-dir", "", "the node state `DIR` to back up")
	out := fs.String("out", "", "write the backup to `FILE`")
	force := fs.Bool("force", false, "replace FILE if it exists")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	dir, err := lf.stateDir(*stateDir)
	if err != nil {
		return err
	}
	if dir == "" {
		return e.usagef("--state-dir is required")
	}
	if err := e.require(fs, "out"); err != nil {
		return err
	}
	if err := checkNotExist(*out, *force); err != nil {
		return err
	}
	t, err := lf.loadDir(ctx, e, dir, false)
	if err != nil {
		return err
	}
	defer t.close(ctx, true)
	if err := t.requireTrusted("backing up"); err != nil {
		return err
	}
	o, err := writeLog(t, *out, 0o600, *force)
	if err != nil {
		return err
	}
	if e.json {
		return e.printJSON(o)
	}
	fmt.Fprintf(e.stdout, "backed up %d update(s) of %s to %s: epoch %d, state root %s\n", o.LogEntries, t.path, o.File, o.Epoch, o.StateRoot)
	return nil
}

// restoreOutput is what restore prints.
type restoreOutput struct {
	StateDir   string `json:"state_dir"`
	From       string `json:"from"`
	Store      string `json:"store"`
	LogEntries uint64 `json:"log_entries"`
	Epoch      uint64 `json:"epoch"`
	StateRoot  string `json:"state_root"`
	MovedAside string `json:"moved_aside,omitempty"` // where the previous directory went
}

// runRestore implements "membership restore". The order of its steps is
// what keeps DIR as it was on every error: the log is verified and written
// into a fresh sibling directory first, while the plugin of DIR's store
// holds DIR's lock (so no node starts on it meanwhile); only then are the
// two directories swapped by renames.
func runRestore(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet()
	lf := &logFlags{state: addStateFlags(fs)}
	lf.addPin(fs)
	lf.addConfig(fs)
	dirFlag := fs.String("state-dir", "", "the node state `DIR` to restore")
	from := fs.String("from", "", "the log `FILE` to restore from: a backup, an export or another node's log")
	_, err := e.parse(fs, args, 0)
	if err != nil {
		return err
	}
	if *dirFlag, err = lf.stateDir(*dirFlag); err != nil {
		return err
	}
	if *dirFlag == "" {
		return e.usagef("--state-dir is required")
	}
	if err := e.require(fs, "from"); err != nil {
		return err
	}
	pin, err := lf.pin(e)
	if err != nil {
		return err
	}
	if _, err := lf.state.store.launchConfig(nil); err != nil {
		return withHint(err, e.path)
	}
	raw, err := readInput(*from)
	if err != nil {
		return err
	}
	entries, err := membership.ParseLog(raw, nil)
	if err != nil {
		return rejected(*from, err)
	}
	dir, create, err := checkStateDir(*dirFlag, true)
	if err != nil {
		return err
	}
	var old *stateDir
	if !create {
		if old, err = e.holdOld(ctx, lf.state.store, dir); err != nil {
			return err
		}
	}
	stamp := e.now().UTC().Format("20060102T150405Z")
	fresh := &stateDir{dir: freePath(dir + ".restore-" + stamp), store: lf.state.store, created: true}
	l, err := e.restoreInto(ctx, fresh, ledger.Config{
		StateDir: dir, HighWaterPath: lf.state.highWater, GenesisRoot: pin, Now: e.now, Logger: e.ledgerLogger(),
	}, entries)
	if old != nil {
		old.close(ctx, true)
	}
	if err != nil {
		return storeError(fmt.Sprintf("restoring %s from %s", *dirFlag, *from), err)
	}
	if pin == (membership.Hash{}) {
		e.noteUnpinned(*from, entries[0].Body.NewStateRoot)
	}
	st := l.Status()
	o := restoreOutput{StateDir: *dirFlag, From: *from, Store: lf.state.store.name(), LogEntries: st.Head, Epoch: st.Epoch, StateRoot: st.Root.String()}
	if o.MovedAside, err = swapIn(dir, fresh.dir, !create, stamp); err != nil {
		return err
	}
	if e.json {
		return e.printJSON(o)
	}
	fmt.Fprintf(e.stdout, "restored %d update(s) from %s into %s: epoch %d, state root %s\n", o.LogEntries, o.From, o.StateDir, o.Epoch, o.StateRoot)
	if o.MovedAside != "" {
		fmt.Fprintf(e.stdout, "the previous directory was moved to %s\n", o.MovedAside)
	}
	return nil
}

// holdOld opens the existing state directory dir in a plugin of store, so
// that its lock is held while the restore runs. A directory a running node
// holds fails with LOCKED. One the store cannot open because it is damaged
// or has wrong permissions is what restore is for: it is noted and moved
// aside without its lock (a node cannot run on it either); then holdOld
// returns nil.
func (e *env) holdOld(ctx context.Context, store storeChoice, dir string) (*stateDir, error) {
	old := &stateDir{dir: dir, store: store}
	if err := old.start(ctx, e); err != nil {
		return nil, err
	}
	err := old.open(ctx)
	switch hostapi.CodeOf(err) {
	case hostapi.CodeOK:
		return old, nil
	case hostapi.CodeCorrupt, hostapi.CodePermission:
		old.close(ctx, true)
		e.notef("the %s store cannot open %s (%v); it is moved aside as it is", store.name(), dir, err)
		return nil, nil
	}
	old.close(ctx, true)
	if hostapi.CodeOf(err) == hostapi.CodeLocked {
		return nil, storeError(fmt.Sprintf("state directory %s is in use (stop the node first)", dir), err)
	}
	return nil, storeError(fmt.Sprintf("the %s store cannot open state directory %s", store.name(), dir), err)
}

// restoreInto verifies log (ledger.Restore: from the pinned genesis, up to
// and agreeing with the high-water mark of cfg.StateDir) and writes it into
// the new directory fresh, through its own store plugin. On error fresh is
// removed.
func (e *env) restoreInto(ctx context.Context, fresh *stateDir, cfg ledger.Config, log []*membership.SignedUpdate) (*ledger.Ledger, error) {
	if err := fresh.launch(ctx, e); err != nil {
		return nil, err
	}
	cfg.Store = fresh.client
	l, err := ledger.Restore(ctx, cfg, log)
	if err == nil && l.Restricted() != nil {
		err = integrityFailure(l.Restricted())
	}
	if err != nil {
		fresh.close(ctx, false)
		return nil, err
	}
	if err := fresh.close(ctx, true); err != nil {
		e.notef("closing the store of the restored directory: %v", err)
	}
	return l, nil
}

// swapIn puts the restored directory fresh in place of dir. If dir exists
// (exists), it is first renamed to dir.corrupt-<stamp>, which is returned.
// If the second rename fails, the first is undone.
func swapIn(dir, fresh string, exists bool, stamp string) (aside string, err error) {
	if exists {
		aside = freePath(dir + ".corrupt-" + stamp)
		if err := os.Rename(dir, aside); err != nil {
			os.RemoveAll(fresh)
			return "", ioErrorf("moving %s aside: %v; it was not changed", dir, err)
		}
	}
	if err := os.Rename(fresh, dir); err != nil {
		if aside != "" {
			if uerr := os.Rename(aside, dir); uerr != nil {
				return "", ioErrorf("putting the restored directory %s in place of %s: %v; the previous directory is now %s (%v)", fresh, dir, err, aside, uerr)
			}
		}
		return "", ioErrorf("putting the restored directory %s in place of %s: %v; %s was not changed", fresh, dir, err, dir)
	}
	if err := atomicfile.SyncDir(filepath.Dir(dir)); err != nil {
		return aside, ioErrorf("syncing the parent of %s after the restore: %v", dir, err)
	}
	return aside, nil
}

// freePath returns path, or path-2, path-3, ...: the first that does not
// exist, or that cannot be examined (creating it then fails clearly).
func freePath(path string) string {
	p := path
	for i := 2; ; i++ {
		if _, err := os.Lstat(p); err != nil {
			return p
		}
		p = fmt.Sprintf("%s-%d", path, i)
	}
}
