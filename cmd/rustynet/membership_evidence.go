package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/rustynet/rustynet/core/membership"
)

// verifyEvidenceCommand is "membership verify-evidence".
func verifyEvidenceCommand() *command {
	return &command{
		name:    "verify-evidence",
		args:    "--genesis-root HEX | --config FILE [--json] FILE",
		summary: "verify evidence of a fork offline and name the approvers who signed both sides",
		help: "FILE is an evidence file a node kept when it met two quorum-signed\n" +
			"updates extending the same state (in <state_dir>.evidence/, named in\n" +
			"`rustynet status`). It holds the log from genesis up to that state and\n" +
			"both updates; this command replays the log from the pinned genesis\n" +
			"(--genesis-root, required: names signed under another genesis prove\n" +
			"nothing about yours), checks both updates against the state it ends in\n" +
			"by the rules of history, and prints the approvers whose valid\n" +
			"signatures are on both. It needs no node and no network. Exit 0: the\n" +
			"evidence proves an equivocation; exit 1 with the code of what failed\n" +
			"otherwise. See docs/forks.md.",
		run: runVerifyEvidence,
	}
}

// verifyEvidenceOutput is what verify-evidence prints.
type verifyEvidenceOutput struct {
	File          string   `json:"file"`
	Result        string   `json:"result"` // "equivocation"
	NetworkID     string   `json:"network_id"`
	GenesisRoot   string   `json:"genesis_root"`
	GenesisPinned bool     `json:"genesis_pinned"`
	Epoch         uint64   `json:"epoch"`
	PrevStateRoot string   `json:"prev_state_root"`
	Updates       []string `json:"updates"`     // the two update digests
	StateRoots    []string `json:"state_roots"` // the states they lead to
	DoubleSigners []string `json:"double_signers"`
}

func runVerifyEvidence(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet()
	lf := &logFlags{}
	lf.addPin(fs)
	lf.addConfig(fs)
	rest, err := e.parse(fs, args, 1)
	if err != nil {
		return err
	}
	pin, err := lf.pin(e)
	if err != nil {
		return err
	}
	if pin == (membership.Hash{}) {
		return e.usagef("--genesis-root is required (or --config, or $%s): the evidence names approvers only under the genesis it is pinned to", genesisRootEnv)
	}
	data, err := readInput(rest[0])
	if err != nil {
		return err
	}
	ev, err := membership.ParseEvidence(data, nil)
	if err != nil {
		return rejected(rest[0], err)
	}
	rep, err := membership.VerifyEvidence(ev, pin, nil)
	if err != nil {
		return rejected(rest[0], err)
	}
	o := verifyEvidenceOutput{File: rest[0], Result: "equivocation", NetworkID: rep.NetworkID, GenesisRoot: rep.GenesisRoot.String(),
		GenesisPinned: pin != membership.Hash{}, Epoch: rep.Epoch, PrevStateRoot: rep.PrevRoot.String(), DoubleSigners: append([]string{}, rep.DoubleSigners...)}
	for i := range 2 {
		o.Updates = append(o.Updates, rep.Digests[i].String())
		o.StateRoots = append(o.StateRoots, rep.Roots[i].String())
	}
	if e.json {
		return e.printJSON(o)
	}
	who := "none (the two quorums share no approver)"
	if len(o.DoubleSigners) > 0 {
		who = strings.Join(o.DoubleSigners, ", ")
	}
	fmt.Fprintf(e.stdout, "equivocation: two valid quorum-signed updates extend epoch %d of network %s (state root %s)\n", o.Epoch-1, o.NetworkID, o.PrevStateRoot)
	for i := range 2 {
		fmt.Fprintf(e.stdout, "  update %s → state root %s\n", o.Updates[i], o.StateRoots[i])
	}
	fmt.Fprintf(e.stdout, "signed both: %s\n", who)
	return nil
}
