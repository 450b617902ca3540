// Package daemonbench measures the node daemon end to end against the
// targets of SPEC §10, with real processes: `rustynet daemon` started by
// the e2e harness (netstack backend and a store, each a plugin process),
// signed updates submitted over the local control API, and the result read
// back through `status`, which asks the backend plugin for its peers.
//
// The benchmarks are in the test files; README.md says how to run them and
// what they measured on the project's machine.
package daemonbench
