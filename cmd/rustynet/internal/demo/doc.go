// Package demo runs `rustynet demo`: a local, rootless Rustynet mesh of
// real nodes that shows what quorum-signed governance does.
//
// Run creates approvers alice (owner), bob and carol and a 2-of-3 genesis
// with nodes n1, n2 and n3 in a temporary directory, then starts a node
// daemon for each, exactly as an operator would: the rustynet binary
// (Options.Executable) run as `daemon --config FILE`, with the netstack
// backend and the file store, each plugin a separate process, everything
// on 127.0.0.1. n2 exposes a small web service to the mesh. Through the
// nodes' SOCKS5 proxies and control sockets the demo then sends HTTP across
// the mesh, shows a forged update (signed by one approver) refused by
// every node, adds a fourth node n4 by an update signed by two, revokes n4
// and shows its traffic refused while the others' still flows, and prints
// the status of n2. Every step is numbered and narrated on Options.Stdout.
//
// The contract: Run returns nil only if every step did what it should, so
// the command exits 0 only then. It needs no root and no configuration.
// Whether it succeeds or fails it stops every daemon it started; it
// removes its temporary directory on success unless Options.Keep, and
// keeps it on failure, saying where and what it holds.
//
// A kept directory is a network that can be governed by hand: the
// approvers' private keys (approvers/, as `rustynet key generate` writes
// them, package keyfile), every signed update (genesis.json, updates/),
// the network's log (log.json), each node's configuration, key, state and
// daemon log, and ScriptName, a shell script of the CLI commands
// equivalent to each step the demo took (commented out: they are done),
// the commands that check the log and each node's state (which the
// script runs), and those that go on from there.
//
// Errors another party is responsible for (the temporary directory, the
// trust engine, a node's daemon) are *Error, whose Kind says which, so the
// command can report each with the code it gives the same failure
// elsewhere (Options.MapError); any other error is the demo's own: a step
// that did not do what it should.
package demo
