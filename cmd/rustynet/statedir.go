package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rustynet/rustynet/core/ledger"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/storelayout"
)

// stateDir is a node state directory opened for one command: a store
// plugin process, the store it opened on the directory, and the ledger
// verified from that store. The CLI process never opens the store's files
// or holds its lock itself; the plugin does, exactly as under the daemon.
type stateDir struct {
	dir     string // absolute
	store   storeChoice
	client  *hostapi.StoreClient
	ledger  *ledger.Ledger // nil until the store is open and verified
	created bool           // this command created dir
	// strict refuses a --store that is not the directory's (see
	// storeChoice.forDir); otherwise the directory's own store is used.
	strict bool
	// readFirst has a built-in store open the directory read-first
	// (storelayout.ReadFirstEnv): it creates nothing, no lock file
	// included, until the command writes.
	readFirst bool
}

// openStateDir launches the store plugin that keeps the state directory
// path (sf's choice, checked against the directory's layout: see
// storeChoice.forDir), opens the directory in it and verifies the ledger
// kept there (ledger.Open: a verification failure leaves the ledger in
// restricted-safe mode rather than failing). pin, if not zero, pins the
// genesis root. The directory must exist unless create is set, in which
// case the store creates it (its parent must exist) and close removes it
// again unless told to keep it. The caller must call close.
//
// Nothing is written until the command writes: a built-in store opens the
// directory read-first and the ledger is opened ReadFirst, so a command
// that only reads creates no lock file, log directory, database or
// high-water mark, and works on a read-only copy.
func (e *env) openStateDir(ctx context.Context, sf *stateFlags, path string, create bool, pin membership.Hash) (*stateDir, error) {
	s := &stateDir{store: sf.store, strict: true, readFirst: true}
	var err error
	if s.dir, s.created, err = checkStateDir(path, create); err != nil {
		return nil, err
	}
	if err := s.launch(ctx, e); err != nil {
		return nil, err
	}
	cfg := ledger.Config{
		Store: s.client, StateDir: s.dir, HighWaterPath: sf.highWater,
		GenesisRoot: pin, Now: e.now, Logger: e.ledgerLogger(), ReadFirst: true,
	}
	if s.ledger, err = ledger.Open(ctx, cfg); err != nil {
		s.close(ctx, false)
		return nil, storeError("verifying state directory "+s.dir, err)
	}
	return s, nil
}

// checkStateDir resolves a state directory named by the user. A missing
// directory is a usage error unless create is set and its parent exists;
// created reports that case.
func checkStateDir(path string, create bool) (dir string, created bool, err error) {
	if path == "" {
		return "", false, usageErrorf("no state directory given")
	}
	dir, err = filepath.Abs(path)
	if err != nil {
		return "", false, usageErrorf("state directory %s: %v", path, err)
	}
	info, err := os.Stat(dir)
	switch {
	case err == nil && info.IsDir():
		return dir, false, nil
	case err == nil:
		return "", false, usageErrorf("state directory %s is not a directory", path)
	case !errors.Is(err, fs.ErrNotExist):
		return "", false, usageErrorf("state directory %s: %v", path, unwrapPath(err))
	case !create:
		return "", false, usageErrorf("state directory %s does not exist", path)
	}
	if info, err := os.Stat(filepath.Dir(dir)); err != nil || !info.IsDir() {
		return "", false, usageErrorf("cannot create state directory %s: its parent is not an existing directory", path)
	}
	return dir, true, nil
}

// launch starts the store plugin and opens the directory in it. A store
// that finds its data unreadable fails Open with CORRUPT: that is reported
// as INTEGRITY_FAILURE, like any other damage the ledger finds. On error
// nothing is left running.
func (s *stateDir) launch(ctx context.Context, e *env) error {
	if err := s.start(ctx, e); err != nil {
		return err
	}
	err := s.open(ctx)
	switch {
	case err == nil:
		return nil
	case hostapi.CodeOf(err) == hostapi.CodeCorrupt:
		err = &membership.Error{Code: membership.IntegrityFailure, Msg: fmt.Sprintf("the %s store cannot read state directory %s: %v", s.store.name(), s.dir, err)}
	default:
		err = storeError(fmt.Sprintf("the %s store cannot open state directory %s", s.store.name(), s.dir), err)
	}
	s.close(ctx, false)
	return err
}

// start launches the store plugin that keeps the directory (see
// storeChoice.forDir and strict).
func (s *stateDir) start(ctx context.Context, e *env) error {
	store, err := s.store.forDir(s.dir, s.strict)
	if err != nil {
		return err
	}
	s.store = store
	cfg, err := s.store.launchConfig(e.logger())
	if err != nil {
		return err
	}
	if s.readFirst && s.store.path == "" {
		cfg.Env = append(cfg.Env, storelayout.ReadFirstEnv+"=1")
	}
	if s.client, err = hostapi.LaunchStore(ctx, cfg); err != nil {
		return storeError(fmt.Sprintf("launching the %s store plugin", s.store.name()), err)
	}
	return nil
}

// open opens the directory in the running plugin, which takes its lock. The
// error is the store's, unreported.
func (s *stateDir) open(ctx context.Context) error {
	return s.client.Open(ctx, hostapi.StoreConfig{Dir: s.dir})
}

// close closes the store and ends its plugin. keep says whether what the
// command did stands: a directory this command created is removed again
// unless keep is set. The error is the store's Close, reported as a
// warning by callers that already succeeded: every write was durable
// before it was acknowledged.
func (s *stateDir) close(ctx context.Context, keep bool) error {
	var err error
	if s.client != nil {
		err = s.client.Close(ctx)
		s.client.Kill()
	}
	if s.created && !keep {
		if rerr := os.RemoveAll(s.dir); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}

// restricted returns the RESTRICTED_MODE refusal of a command that needs
// trusted state, or nil if the ledger verified.
func (s *stateDir) restricted(what string) error {
	r := s.ledger.Restricted()
	if r == nil {
		return nil
	}
	return &membership.Error{Code: membership.RestrictedMode, Msg: fmt.Sprintf("%s: state directory %s is in restricted-safe mode (%v); recover it with `rustynet membership restore`", what, s.dir, r)}
}
