package demo

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/rustynet/rustynet/core/membership"
)

// ScriptName is the file in a kept directory that holds the demo's steps
// as the CLI commands that do the same (see writeScript).
const ScriptName = "governance.sh"

// history is what the demo did, step by step, as the CLI commands that
// do the same: comment lines of governance.sh, each command relative to
// the demo's directory. Only the goroutine running the steps uses it.
type history struct{ b strings.Builder }

// step starts the block of step n.
func (h *history) step(n int, title string) { fmt.Fprintf(&h.b, "\n# [%d] %s\n", n, title) }

// did records a command line, or a note in parentheses.
func (h *history) did(format string, args ...any) { fmt.Fprintf(&h.b, "#   "+format+"\n", args...) }

// writeScript writes governance.sh into the demo's directory: first the
// commands that check, reading only, the log and each node's state as
// the demo left them (the script runs them); then, commented out, the CLI
// commands equivalent to each step the demo took (done: the files they
// wrote are here); last, commented out, the commands that go on governing
// the kept network by hand.
func (s *session) writeScript() error {
	var b strings.Builder
	b.WriteString(`#!/bin/sh
# rustynet demo --keep: the demo's network, and its steps as CLI commands.
#
# This directory holds what the demo made: the approvers' private keys
# (approvers/), every signed update (genesis.json, updates/), the network's
# log (log.json), and each node's configuration, key, state and daemon log
# (n1/, n2/, ...). The keys are private: delete the directory when done.
#
# Run this script, with rustynet on PATH, to check the log and each node's
# state (it only reads). After those commands come, commented out, the CLI
# commands that do what each step of the demo did in-process and through
# the nodes' control sockets: they are done, and the files they wrote are
# here. Last come the commands to go on governing the network by hand.
set -eu
cd "$(dirname "$0")"
`)
	fmt.Fprintf(&b, "GENESIS_ROOT=%s\n\n", s.genesis)
	b.WriteString("rustynet membership status --from log.json --genesis-root \"$GENESIS_ROOT\"\n")
	for _, id := range s.started {
		fmt.Fprintf(&b, "rustynet membership verify-log --state-dir %s/state --high-water %s/highwater.json --genesis-root \"$GENESIS_ROOT\"\n", id, id)
	}
	b.WriteString("\n# What the demo did, step by step, as CLI commands.\n")
	b.WriteString(s.history.b.String())
	next := fmt.Sprintf("updates/%d-remove-n3.json", s.updates+1)
	fmt.Fprintf(&b, `
# Go on by hand, from this directory. Pin the genesis for the commands below,
# and start the nodes again, each in a terminal of its own or in the background:
#   GENESIS_ROOT=%s
`, s.genesis)
	var active []string
	for n := range s.chain.State().Nodes() {
		if n.Status == membership.StatusActive && s.nodes[n.ID] != nil && s.nodes[n.ID].cmd != nil {
			active = append(active, n.ID)
			fmt.Fprintf(&b, "#   rustynet daemon --config %s/rustynet.toml &\n", n.ID)
		}
	}
	pin := `--genesis-root "$GENESIS_ROOT"`
	fmt.Fprintf(&b, `# Then propose a change against the log (here: remove n3), have two
# approvers sign and review it, and give it to every node and to the log:
#   rustynet membership propose-remove-node --from log.json %[2]s --node-id n3 --out %[1]s
#   rustynet membership sign-update --key approvers/alice.key --from log.json %[2]s %[1]s
#   rustynet membership sign-update --key approvers/carol.key --from log.json %[2]s %[1]s
#   rustynet membership verify-update --from log.json %[2]s %[1]s
`, next, pin)
	for _, id := range active {
		fmt.Fprintf(&b, "#   rustynet membership apply-update --socket %s/control.sock %s\n", id, next)
	}
	fmt.Fprintf(&b, "#   rustynet membership apply-update --from log.json %s %s\n", pin, next)
	return os.WriteFile(filepath.Join(s.dir, ScriptName), []byte(b.String()), 0o700)
}
