// Package e2e runs real Rustynet node daemons as separate processes on
// 127.0.0.1 and checks, from the outside, what SPEC §5 promises: an update
// that does not verify is refused, the refusal is reported by `status`, and
// the data plane — the peers the backend reads back and the traffic that
// actually flows — does not change.
//
// The package holds a small harness and the tests that use it:
//
//   - Build compiles the rustynet binary once (from TestMain).
//   - New makes a Cluster: approver keys, node keys, a signed genesis, and a
//     temporary directory that t.Cleanup removes.
//   - Cluster.AddNode makes a node that is not a member yet; Node.Start
//     writes a node's TOML configuration and key, starts `rustynet daemon`
//     (netstack backend, file or SQLite store, a SOCKS5 proxy and one
//     exposed web service per node) and waits until its control socket
//     answers. Every daemon and every plugin process is ended at cleanup,
//     and a plugin that outlives its daemon fails the test.
//   - Cluster.Propose and Cluster.Sign build signed updates against the
//     approvers' view of the chain; Node.Apply sends one through the control
//     API (controlapi.Client), Node.Status reads the node's status.
//   - Node.Fetch sends HTTP through a node's SOCKS5 proxy to the web service
//     another node exposes on its mesh address.
//   - Node.PluginPID finds a plugin process among the daemon's children, so a
//     test can kill it.
//
// The benchmarks in benchmarks/daemon use the same harness.
package e2e
