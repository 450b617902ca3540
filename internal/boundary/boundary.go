// Package boundary states the project's dependency rules as data, so one
// test (and anyone reading) can see them in one place:
//
//   - core/ and hostapi/ never depend on a package that speaks WireGuard,
//     gVisor or netlink: transports stay behind the plugin boundary
//     (seed: "no WireGuard leakage into protocol-agnostic boundaries").
//   - hostapi/ and conformance/ stay light enough for a plugin author to
//     import: they never depend on the core (daemon, trust engine) or on a
//     built-in plugin.
package boundary

import "strings"

// Rule forbids packages matching Under (a path prefix inside this module)
// from depending, directly or transitively, on any package path starting
// with one of Forbidden.
type Rule struct {
	Under     string
	Forbidden []string
	Why       string
}

// Forbids reports whether the rule forbids a dependency on package dep: dep
// is a forbidden path or lies below one.
func (r Rule) Forbids(dep string) bool {
	for _, f := range r.Forbidden {
		f = strings.TrimSuffix(f, "/")
		if dep == f || strings.HasPrefix(dep, f+"/") {
			return true
		}
	}
	return false
}

// Module is this module's path.
const Module = "github.com/rustynet/rustynet"

var transports = []string{
	"golang.zx2c4.com/wireguard",
	"golang.zx2c4.com/wintun",
	"gvisor.dev/",
	"github.com/vishvananda/netlink",
	"github.com/vishvananda/netns",
	"github.com/mdlayher/",
	"github.com/google/nftables",
}

// Rules are the project's dependency rules.
var Rules = []Rule{
	{Under: "core", Forbidden: transports, Why: "the core never speaks WireGuard: backends do, behind hostapi"},
	{Under: "hostapi", Forbidden: transports, Why: "the plugin contract is transport-neutral"},
	{Under: "hostapi", Forbidden: []string{Module + "/core", Module + "/plugins", Module + "/cmd"}, Why: "plugin authors import hostapi without the daemon"},
	{Under: "conformance", Forbidden: []string{Module + "/core", Module + "/plugins", Module + "/cmd"}, Why: "plugin authors import the conformance suite without the daemon"},
}
