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

// proposeResolveForkCommand is "membership propose-resolve-fork".
func proposeResolveForkCommand() *command {
	return &command{
		name:    "propose-resolve-fork",
		args:    "--genesis-root HEX | --config FILE --evidence FILE... --choose DIGEST|none [--expires-in DURATION] --out FILE [--force]",
		summary: "propose the resolution of a fork: the update every node follows instead of either side",
		help: "Each --evidence FILE is an evidence file of one fork (the same epoch;\n" +
			"give every piece you hold when more than two updates conflict). The\n" +
			"resolution is an update of the fork's own epoch that carries every side\n" +
			"and applies the operation of the side --choose names (its update digest,\n" +
			"as verify-evidence prints it) or, with --choose none, of neither. Every\n" +
			"node — whichever side it followed, forked or not — replaces its entries\n" +
			"from that epoch on by it, so updates applied on either side after the\n" +
			"fork must be proposed again. It must be signed by a threshold of\n" +
			"approvers none of whom signed two sides (those signatures count for\n" +
			"nothing), then applied to any node (`membership apply-update`); the\n" +
			"others take it from their peers or the feed. See docs/forks.md.",
		run: runProposeResolveFork,
	}
}

func runProposeResolveFork(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet()
	lf := &logFlags{}
	lf.addPin(fs)
	lf.addConfig(fs)
	evidence := listVar(fs, "evidence", "an evidence `FILE` of the fork (repeat for every piece)")
	choose := fs.String("choose", "", "the update `DIGEST` of the side to apply, or none")
	expiresIn := addExpiryFlag(fs, "how long approvers have to sign and apply it")
	out := fs.String("out", "", "write the unsigned resolution to `FILE`")
	force := fs.Bool("force", false, "replace FILE if it exists")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	if err := e.require(fs, "evidence", "choose", "out"); err != nil {
		return err
	}
	if err := checkNotExist(*out, *force); err != nil {
		return err
	}
	pin, err := lf.pin(e)
	if err != nil {
		return err
	}
	if pin == (membership.Hash{}) {
		return e.usagef("--genesis-root is required (or --config, or $%s): evidence proves a fork only under the genesis it is pinned to", genesisRootEnv)
	}
	var choice membership.Hash
	if *choose != "none" {
		if choice, err = membership.ParseHash(*choose); err != nil {
			return e.usagef("--choose %q is neither an update digest (64 hex digits, as verify-evidence prints) nor none", *choose)
		}
	}
	var pre *membership.State
	var sides []*membership.SignedUpdate
	for _, file := range evidence.values {
		data, err := readInput(file)
		if err != nil {
			return err
		}
		ev, err := membership.ParseEvidence(data, nil)
		if err != nil {
			return rejected(file, err)
		}
		rep, err := membership.VerifyEvidence(ev, pin, nil)
		if err != nil {
			return rejected(file, err)
		}
		switch {
		case pre == nil:
			pre = rep.Pre
		case rep.PrevRoot != pre.Root() || rep.Epoch != pre.Epoch()+1:
			return e.usagef("%s is evidence of a fork at epoch %d (root %s), not of the fork of the first --evidence (epoch %d)", file, rep.Epoch, rep.PrevRoot, pre.Epoch()+1)
		}
		sides = append(sides, ev.Updates[0], ev.Updates[1])
	}
	u, err := membership.NewResolution(pre, sides, choice, membership.Proposal{CreatedAt: e.now(), Validity: expiresIn.d})
	if err != nil {
		return rejected("", err)
	}
	return e.writeProposal(*out, *force, pre, u)
}
