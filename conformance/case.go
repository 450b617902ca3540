package conformance

import (
	"context"
	"fmt"
	"strings"

	"github.com/rustynet/rustynet/hostapi"
)

// Level says how binding a case is. A plugin conforms when every MUST case
// passes; SHOULD cases report recommended behaviour and never fail a run.
type Level int

// Levels.
const (
	Must Level = iota + 1
	Should
)

// String returns "MUST" or "SHOULD".
func (l Level) String() string {
	switch l {
	case Must:
		return "MUST"
	case Should:
		return "SHOULD"
	}
	return fmt.Sprintf("LEVEL_%d", int(l))
}

// Kind is the kind of plugin a suite targets.
type Kind string

// Plugin kinds, as hostapi names them.
const (
	KindStore   Kind = hostapi.StorePluginName
	KindBackend Kind = hostapi.BackendPluginName
)

// Harness is a set of needs a case has of the way the suite reaches the
// plugin, rather than of the plugin itself.
type Harness uint32

// Harness needs.
const (
	// HarnessProcess: the plugin runs as a process of its own, launched
	// from a binary (not served in process).
	HarnessProcess Harness = 1 << iota
	// HarnessKill: the suite can SIGKILL the plugin's process.
	HarnessKill
	// HarnessReference: a second, reference backend is given to pair the
	// plugin with (interop).
	HarnessReference
)

// Has reports whether all needs in want are in h.
func (h Harness) Has(want Harness) bool { return h&want == want }

var harnessNames = []struct {
	h    Harness
	name string
}{
	{HarnessProcess, "the plugin as a process of its own (a binary target)"},
	{HarnessKill, "SIGKILL of the plugin's process (a binary target on Unix)"},
	{HarnessReference, "a reference backend to pair with (interop)"},
}

// Capability is what a case needs: capability flags the plugin must
// advertise in Info, and needs of the harness. The zero value needs
// nothing.
type Capability struct {
	Store   hostapi.StoreCapabilities
	Backend hostapi.BackendCapabilities
	Harness Harness
}

// Case is one conformance rule and the code that checks it. Cases are plain
// values; the engine runs each against fresh plugin instances made through
// its Env.
type Case struct {
	// ID names the case, stably: "group.topic.detail", e.g.
	// "store.durable.kill-during-appends".
	ID string
	// Level is Must or Should.
	Level Level
	// Needs gates the case: if the target cannot meet it, the case is
	// skipped with the reason.
	Needs Capability
	// Rule states, in one line, what a conforming plugin does.
	Rule string
	// Run checks the rule. It returns nil when the plugin passes, an error
	// made by Skip or Skipf when the check cannot run here (the error says
	// why), and any other error when the plugin fails the rule. It must
	// release everything through env.Cleanup and return promptly once ctx
	// is done.
	Run func(ctx context.Context, env *Env) error
}

// missing returns why a target with the given capabilities cannot run c, or
// "" if it can.
func (c Case) missing(store hostapi.StoreCapabilities, backend hostapi.BackendCapabilities, h Harness) string {
	var why []string
	if !store.Has(c.Needs.Store) {
		why = append(why, "store capabilities "+storeCapNames(c.Needs.Store&^store)+", which the plugin does not advertise")
	}
	if !backend.Has(c.Needs.Backend) {
		why = append(why, "backend capabilities "+backendCapNames(c.Needs.Backend&^backend)+", which the plugin does not advertise")
	}
	for _, n := range harnessNames {
		if c.Needs.Harness.Has(n.h) && !h.Has(n.h) {
			why = append(why, n.name)
		}
	}
	if len(why) == 0 {
		return ""
	}
	return "needs " + strings.Join(why, "; ")
}

var storeCapList = []struct {
	c    hostapi.StoreCapabilities
	name string
}{
	{hostapi.StoreCapLock, "lock"},
	{hostapi.StoreCapPermissions, "permissions"},
	{hostapi.StoreCapTruncate, "truncate"},
}

var backendCapList = []struct {
	c    hostapi.BackendCapabilities
	name string
}{
	{hostapi.BackendCapPeerStats, "peer-stats"},
	{hostapi.BackendCapRoutes, "routes"},
	{hostapi.BackendCapPacketFilter, "packet-filter"},
	{hostapi.BackendCapProxy, "proxy"},
	{hostapi.BackendCapUAPI, "uapi"},
	{hostapi.BackendCapGateway, "gateway"},
}

// StoreCapNames returns the names of the flags in c ("lock", "permissions",
// "truncate"), and "unknown-0x…" for bits the contract does not define.
func StoreCapNames(c hostapi.StoreCapabilities) []string {
	var out []string
	for _, f := range storeCapList {
		if c.Has(f.c) {
			out = append(out, f.name)
			c &^= f.c
		}
	}
	if c != 0 {
		out = append(out, fmt.Sprintf("unknown-%#x", uint64(c)))
	}
	return out
}

// BackendCapNames returns the names of the flags in c ("peer-stats",
// "routes", "packet-filter", "proxy", "uapi", "gateway"), and "unknown-0x…"
// for bits the contract does not define.
func BackendCapNames(c hostapi.BackendCapabilities) []string {
	var out []string
	for _, f := range backendCapList {
		if c.Has(f.c) {
			out = append(out, f.name)
			c &^= f.c
		}
	}
	if c != 0 {
		out = append(out, fmt.Sprintf("unknown-%#x", uint64(c)))
	}
	return out
}

func storeCapNames(c hostapi.StoreCapabilities) string {
	return strings.Join(StoreCapNames(c), ", ")
}

func backendCapNames(c hostapi.BackendCapabilities) string {
	return strings.Join(BackendCapNames(c), ", ")
}
