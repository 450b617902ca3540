package conformance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/rustynet/rustynet/hostapi"
)

// StoreTarget is a store plugin under test and how the suite reaches it:
// exactly one of New, Binary.Path and Reattach is set.
type StoreTarget struct {
	// Name labels the target in reports; empty means the binary's path,
	// or "in-process".
	Name string
	// New returns a fresh, unopened Store, which the suite serves through
	// hostapi.ServeStoreTest: across a real gRPC connection, inside this
	// process. The Stores New makes must share their medium the way
	// processes on one machine share a disk: a Store opened on a directory
	// sees what an earlier one stored there, and (with StoreCapLock) a
	// directory open in one is locked against the others.
	New func() hostapi.Store
	// Binary launches the plugin as a process of its own through
	// hostapi.LaunchStore, exactly as the daemon does. Its Logger is
	// replaced by the suite's.
	Binary hostapi.LaunchConfig
	// Reattach reaches a plugin someone started in reattach mode (see
	// hostapi.EnvReattach), e.g. under a debugger: each instance is a
	// connection of its own (hostapi.ReattachStore). The suite cannot
	// launch, kill or inspect that process, so the cases that need to skip.
	Reattach *hostapi.ReattachConfig
}

// BackendTarget is a backend plugin under test and how the suite reaches
// it: exactly one of New, Binary.Path and Reattach is set.
type BackendTarget struct {
	// Name labels the target in reports.
	Name string
	// New returns a fresh, unconfigured Backend, which the suite serves
	// through hostapi.ServeBackendTest inside this process.
	New func() hostapi.Backend
	// Binary launches the plugin as a process of its own through
	// hostapi.LaunchBackend, exactly as the daemon does.
	Binary hostapi.LaunchConfig
	// Reattach reaches a plugin running in reattach mode, as for a
	// StoreTarget. Its instances run where that process runs: in the
	// Loopback topology only.
	Reattach *hostapi.ReattachConfig
	// Topology places instances so that two of them can reach each other;
	// nil means Loopback. A backend with an OS interface needs isolated
	// nodes (see Namespaces) to carry traffic between two instances.
	Topology Topology
	// Reference, if not nil, is a second backend that the interop cases
	// pair with this one, each in a node of Topology. Its own Topology and
	// Reference are ignored.
	Reference *BackendTarget
}

// errTarget is returned for a target that does not set exactly one of
// New, Binary.Path and Reattach.
var errTarget = errors.New("conformance: a target sets exactly one of New, Binary.Path and Reattach")

// launcher starts instances of one target.
type launcher struct {
	kind       Kind
	name       string
	newStore   func() hostapi.Store
	newBackend func() hostapi.Backend
	binary     hostapi.LaunchConfig
	reattach   *hostapi.ReattachConfig
}

// oneWay reports whether exactly one of the ways to reach a plugin is set.
func oneWay(set ...bool) bool {
	n := 0
	for _, b := range set {
		if b {
			n++
		}
	}
	return n == 1
}

func storeLauncher(t StoreTarget) (*launcher, error) {
	if !oneWay(t.New != nil, t.Binary.Path != "", t.Reattach != nil) {
		return nil, errTarget
	}
	return &launcher{kind: KindStore, name: targetName(t.Name, t.Binary, t.Reattach), newStore: t.New, binary: t.Binary, reattach: t.Reattach}, nil
}

func backendLauncher(t BackendTarget) (*launcher, error) {
	if !oneWay(t.New != nil, t.Binary.Path != "", t.Reattach != nil) {
		return nil, errTarget
	}
	return &launcher{kind: KindBackend, name: targetName(t.Name, t.Binary, t.Reattach), newBackend: t.New, binary: t.Binary, reattach: t.Reattach}, nil
}

func targetName(name string, b hostapi.LaunchConfig, r *hostapi.ReattachConfig) string {
	switch {
	case name != "":
		return name
	case b.Path != "":
		return b.Path
	case r != nil:
		return fmt.Sprintf("reattached plugin (pid %d, %s %s)", r.Pid, r.Network, r.Address)
	}
	return "in-process"
}

// inProcess reports whether instances are served inside this process.
func (l *launcher) inProcess() bool { return l.newStore != nil || l.newBackend != nil }

// launched reports whether the suite launches the plugin's processes
// itself, and so may kill and inspect them.
func (l *launcher) launched() bool { return l.binary.Path != "" }

// harness returns what this launcher offers cases.
func (l *launcher) harness() Harness {
	if !l.launched() {
		return 0
	}
	h := HarnessProcess
	if canKill {
		h |= HarnessKill
	}
	return h
}

// startStore starts one instance, logging to logger.
func (l *launcher) startStore(ctx context.Context, logger *slog.Logger) (*hostapi.StoreClient, error) {
	switch {
	case l.inProcess():
		return hostapi.ServeStoreTest(ctx, l.newStore(), hostapi.WithLogger(logger))
	case l.reattach != nil:
		return hostapi.ReattachStore(ctx, *l.reattach)
	}
	cfg := l.binary
	cfg.Logger = logger
	return hostapi.LaunchStore(ctx, cfg)
}

// startBackend starts one instance in node, logging to logger.
func (l *launcher) startBackend(ctx context.Context, node *Node, logger *slog.Logger) (*hostapi.BackendClient, error) {
	if !l.launched() && node.Do != nil {
		return nil, Skipf("a backend the suite does not launch cannot run in node %s, which has a network of its own: give a binary target", node.Name)
	}
	switch {
	case l.inProcess():
		return hostapi.ServeBackendTest(ctx, l.newBackend(), hostapi.WithLogger(logger))
	case l.reattach != nil:
		return hostapi.ReattachBackend(ctx, *l.reattach)
	}
	cfg := l.binary
	cfg.Logger = logger
	var c *hostapi.BackendClient
	err := node.do(func() error {
		var err error
		c, err = hostapi.LaunchBackend(ctx, cfg)
		return err
	})
	return c, err
}
