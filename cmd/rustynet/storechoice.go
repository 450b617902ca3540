package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/storelayout"
)

// defaultStore is the built-in store used when none is chosen (SPEC §5).
const defaultStore = "file"

// storeChoice is which store plugin keeps a state directory: a built-in
// one, served by this binary in plugin mode, or an external plugin binary,
// optionally pinned by its SHA-256.
type storeChoice struct {
	builtin string // "file" or "sqlite"; used when path is empty
	path    string // an external store plugin binary
	sha256  string // hex SHA-256 pin of path; empty for none
}

// launchConfig resolves c to how its plugin is launched: for a built-in
// store, this very executable with arguments "plugin store-NAME"; for an
// external one, the binary itself, pinned if a hash was given. logger
// receives the plugin's log. A contradictory or malformed choice is a usage
// error.
func (c storeChoice) launchConfig(logger *slog.Logger) (hostapi.LaunchConfig, error) {
	switch {
	case c.path != "" && c.builtin != "":
		return hostapi.LaunchConfig{}, usageErrorf("give either --store or --store-plugin, not both")
	case c.sha256 != "" && c.path == "":
		return hostapi.LaunchConfig{}, usageErrorf("--store-plugin-sha256 pins an external plugin: give --store-plugin PATH too")
	case c.path != "":
		if b, err := hex.DecodeString(c.sha256); c.sha256 != "" && (err != nil || len(b) != sha256.Size) {
			return hostapi.LaunchConfig{}, usageErrorf("--store-plugin-sha256: want %d hex digits", 2*sha256.Size)
		}
		return hostapi.LaunchConfig{Path: c.path, SHA256: c.sha256, Logger: logger}, nil
	}
	name := c.name()
	if !isBuiltinPlugin("store-" + name) {
		return hostapi.LaunchConfig{}, usageErrorf("--store %q: want %s, or an external plugin with --store-plugin PATH", name, strings.Join(builtinStores(), " or "))
	}
	exe, err := os.Executable()
	if err != nil {
		return hostapi.LaunchConfig{}, internalErrorf("locating this executable to serve the built-in %s store: %v", name, err)
	}
	return hostapi.LaunchConfig{Path: exe, Args: []string{"plugin", "store-" + name}, Logger: logger}, nil
}

// forDir resolves c for the state directory dir, from the directory's
// layout (storelayout.Detect): without --store, the built-in store whose
// directory it is (the default store for a new or empty one); with a
// --store that names another store than the directory's, a CONFLICT
// refusal (exit 2) if strict, else the directory's own store. An external
// plugin is taken as given. Nothing is created.
func (c storeChoice) forDir(dir string, strict bool) (storeChoice, error) {
	if c.path != "" {
		return c, nil
	}
	kind, err := storelayout.Detect(dir)
	switch {
	case err != nil && strict:
		return c, &cliError{code: hostapi.CodeConflict.String(), exit: exitUsage,
			msg: fmt.Sprintf("cannot tell which store keeps state directory %s: %v", dir, err)}
	case err != nil || kind == "":
		return c, nil
	case c.builtin == "":
		c.builtin = kind
	case c.builtin != kind && strict:
		return c, &cliError{code: hostapi.CodeConflict.String(), exit: exitUsage,
			msg: fmt.Sprintf("state directory %s is kept by the %s store, not the %s store: give --store %s, or no --store", dir, kind, c.builtin, kind)}
	case c.builtin != kind:
		c.builtin = kind
	}
	return c, nil
}

// name describes the store for output: the built-in's name or the
// external plugin's path.
func (c storeChoice) name() string {
	switch {
	case c.path != "":
		return c.path
	case c.builtin != "":
		return c.builtin
	}
	return defaultStore
}

// isBuiltinPlugin reports whether this binary serves the plugin name.
func isBuiltinPlugin(name string) bool {
	for _, p := range builtinPlugins {
		if p.name == name {
			return true
		}
	}
	return false
}

// builtinStores lists the built-in stores' names ("file", "sqlite").
func builtinStores() []string {
	var names []string
	for _, p := range builtinPlugins {
		if s, ok := strings.CutPrefix(p.name, "store-"); ok {
			names = append(names, s)
		}
	}
	return names
}

// stateFlags are the flags of every command that may open a node state
// directory: which store plugin keeps it and where its high-water mark is.
type stateFlags struct {
	store     storeChoice
	highWater string
}

// addStateFlags defines --store, --store-plugin, --store-plugin-sha256 and
// --high-water on fs.
func addStateFlags(fs *flag.FlagSet) *stateFlags {
	sf := &stateFlags{}
	fs.StringVar(&sf.store.builtin, "store", "", "built-in store `KIND` keeping a state directory: "+strings.Join(builtinStores(), " or ")+" (default: the one whose directory it is, else "+defaultStore+")")
	fs.StringVar(&sf.store.path, "store-plugin", "", "an external store plugin binary (`PATH`) instead of a built-in store")
	fs.StringVar(&sf.store.sha256, "store-plugin-sha256", "", "refuse to launch --store-plugin unless its SHA-256 is `HEX`")
	fs.StringVar(&sf.highWater, "high-water", "", "the state directory's high-water mark `FILE` (default: under the user's state directory)")
	return sf
}
