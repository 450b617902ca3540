package main

import (
	"flag"
	"os"

	"github.com/rustynet/rustynet/core/config"
	"github.com/rustynet/rustynet/core/membership"
)

// genesisRootEnv is the environment variable that pins the genesis root
// of every command taking --genesis-root when neither that flag nor
// --config does.
const genesisRootEnv = "RUSTYNET_GENESIS_ROOT"

// addConfig defines --config on fs: the node's configuration, read for
// what the command's own flags leave unsaid (see logFlags.config).
func (lf *logFlags) addConfig(fs *flag.FlagSet) {
	fs.StringVar(&lf.configFile, "config", "", "the node's configuration `FILE`: its state directory, high-water mark, store and genesis root, unless given by flags")
}

// config returns the configuration named by --config, nil if none, read
// once. Reading it fills in the state directory flags the user left
// empty: the high-water mark and the store. A configuration that does not
// load is a usage error naming the file, line and key.
func (lf *logFlags) config() (*config.Config, error) {
	if lf.configFile == "" || lf.cfg != nil {
		return lf.cfg, nil
	}
	cfg, err := config.Load(lf.configFile)
	if err != nil {
		return nil, usageErrorf("%s", joinContext("--config", err.Error()))
	}
	lf.cfg = cfg
	if sf := lf.state; sf != nil {
		if sf.highWater == "" {
			sf.highWater = cfg.Node.HighWaterFile
		}
		if sf.store == (storeChoice{}) {
			sf.store = storeChoice{path: cfg.Store.Plugin, sha256: cfg.Store.PluginSHA256}
			if sf.store.path == "" {
				sf.store.builtin = string(cfg.Store.Kind)
			}
		}
	}
	return cfg, nil
}

// stateDir returns dir, or if it is empty the state directory of
// --config; "" if neither names one.
func (lf *logFlags) stateDir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	cfg, err := lf.config()
	if err != nil || cfg == nil {
		return "", err
	}
	return cfg.Node.StateDir, nil
}

// pin returns the pinned genesis root, zero if none: --genesis-root, else
// the genesis_root of --config, else $RUSTYNET_GENESIS_ROOT. A malformed
// value is a usage error naming where it came from.
func (lf *logFlags) pin(e *env) (membership.Hash, error) {
	cfg, err := lf.config() // read even under --genesis-root: it fills in the state flags
	if err != nil {
		return membership.Hash{}, err
	}
	if lf.genesisRoot != "" {
		h, err := membership.ParseHash(lf.genesisRoot)
		if err != nil {
			return h, e.usagef("--genesis-root: want 64 lower-case hex digits")
		}
		return h, nil
	}
	if cfg != nil {
		return cfg.Membership.GenesisRoot, nil
	}
	v := os.Getenv(genesisRootEnv)
	if v == "" {
		return membership.Hash{}, nil
	}
	h, err := membership.ParseHash(v)
	if err != nil {
		return h, e.usagef("$%s: want 64 lower-case hex digits", genesisRootEnv)
	}
	return h, nil
}

// noteUnpinned notes that the log at path was verified from its own
// genesis, whose state root is root, since nothing pinned one.
func (e *env) noteUnpinned(path string, root membership.Hash) {
	e.notef("genesis root not pinned (--genesis-root, --config or $%s); trusted %s's own genesis %s", genesisRootEnv, path, root)
}

// hasSource reports whether --from, --config or --socket names a log to
// verify against.
func (lf *logFlags) hasSource() bool { return lf.from != "" || lf.configFile != "" || lf.socket != "" }
