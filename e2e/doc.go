// Package e2e runs real Rustynet node daemons as separate processes and
// checks, from the outside, what SPEC §5 and §7 promise: an update that
// does not verify is refused, the refusal is reported by `status`, and the
// data plane — the peers the backend reads back and the traffic that
// actually flows — does not change; a revoked node is cut off; plugins that
// die are relaunched; the signed access policy decides what crosses the
// data plane; routers and exits carry traffic to the networks they serve.
//
// The package holds a small harness and the tests that use it:
//
//   - TestMain (RunWithBinary) builds the rustynet binary once and fails
//     the run if a daemon or plugin process outlives its test (Leaked).
//     With -short nothing is built and every test skips.
//   - New makes a Cluster: approver keys, node keys, a signed genesis, and a
//     temporary directory removed at cleanup.
//   - Cluster.AddNode makes a node that is not a member yet; Node.Start
//     writes a node's TOML configuration and key, starts `rustynet daemon`
//     and waits until its control socket answers. A NodeConfig chooses the
//     backend (netstack by default, rootless on 127.0.0.1; auto, wgtun or
//     wgkernel), the store (file or SQLite), a proxy, a feed, another user,
//     and a network namespace of its own (PrivateNetwork, Netns). Every
//     daemon and every plugin process is ended at cleanup, and a plugin
//     that outlives its daemon fails the test.
//   - Cluster.Propose and Cluster.Sign build signed updates against the
//     approvers' view of the chain; Node.Apply sends one through the control
//     API (controlapi.Client), Node.Status and Node.WaitStatus read the
//     node's status.
//   - Node.Fetch sends HTTP through a node's SOCKS5 proxy to the web service
//     another node exposes on its mesh address; WaitReach and WantNoReach
//     wait for it to pass or check that it does not.
//   - On Linux, as root, the routed-mesh and policy tests put daemons in
//     network namespaces (internal/netnstest) with a LAN behind a router:
//     WhoAmI and Echo serve there and tell which way a connection went.
//     TestWgkernelRoutedMesh runs them on kernel WireGuard inside a VM
//     (internal/vmtest), and TestSoakChaos runs a mesh under SIGKILLs.
//   - Node.PluginPID finds a plugin process among the daemon's children, so a
//     test can kill it.
//
// The benchmarks in benchmarks/daemon use the same harness, and
// RunWithBinary as their TestMain.
package e2e
