// Package benchmarks measures Rustynet against the performance targets of
// SPEC §10 with `go test -bench`; timing claims come only from here, never
// from timed assertions in tests. README.md explains each benchmark, how to
// run it, and the figures measured on the project's machine.
//
// The benchmarks live in the test files of this package (apply latency and
// its floors) and of package coldstart (re-verifying a long log at start).
// This package holds what they share: the rustynet binary built once per
// run, store plugins launched from it exactly as the daemon launches them
// (`rustynet plugin store-KIND` through pluginhost.StoreLauncher), the
// benchmark network, and per-iteration latency percentiles.
package benchmarks
