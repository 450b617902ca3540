package main

import (
	"context"

	"github.com/rustynet/rustynet/core/membership"
)

// initCommand is "membership init".
func initCommand() *command {
	return &command{
		name: "init",
		args: "--network-id ID --threshold K --approver ID=PUBKEY[:owner]... " +
			"[--node ID=NODEPUBKEY,ADDR[,ADDR...]...] [--policy POLICYFILE] [--recovery-key PUBKEY... --recovery-threshold R] " +
			"[--expires-in DURATION] --out FILE [--force]",
		summary: "write the unsigned genesis update of a new network",
		help: "Every initial approver must then sign FILE with sign-update; the signed\n" +
			"genesis is the first entry of the network's log (and a log by itself).\n" +
			"The genesis always carries the network's access policy (docs/policy.md):\n" +
			"POLICYFILE, or by default one rule, allow-members: every active member\n" +
			"may reach every other member with any protocol. With --recovery-key, the\n" +
			"genesis also declares cold recovery keys (docs/recovery.md): R of them\n" +
			"together may replace the whole approver set if approver keys are lost,\n" +
			"and nothing else; each recovery key must sign the genesis too. It expires after\n" +
			"--expires-in (default " + formatDays(defaultExpiry) + ", at most " + formatDays(maxExpiry) + ").",
		run: runInit,
	}
}

// runInit implements "membership init".
func runInit(_ context.Context, e *env, args []string) error {
	fs := e.flagSet()
	networkID := fs.String("network-id", "", "the network's `ID`")
	threshold := fs.Uint64("threshold", 0, "approver signatures every update needs (`K`)")
	approvers := listVar(fs, "approver", "an initial approver, `ID=PUBKEY[:owner]`")
	nodes := listVar(fs, "node", "an initial node, `ID=NODEPUBKEY,ADDR[,ADDR...]`")
	policyFile := fs.String("policy", "", "the network's access policy `FILE` (default: every member may reach every other)")
	recoveryKeys := listVar(fs, "recovery-key", "a cold recovery key (Ed25519 public key, `BASE64`)")
	recoveryThreshold := fs.Uint64("recovery-threshold", 0, "how many recovery keys together may replace the approvers (`R`)")
	expiresIn := addExpiryFlag(fs, "how long approvers have to sign it")
	out := fs.String("out", "", "write the genesis update to `FILE`")
	force := fs.Bool("force", false, "replace FILE if it exists")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	if err := e.require(fs, "network-id", "threshold", "approver", "out"); err != nil {
		return err
	}
	as, ns, err := e.parseMembers(approvers.values, nodes.values)
	if err != nil {
		return err
	}
	pol := membership.DefaultPolicy()
	if *policyFile != "" {
		f, err := readPolicyFile(*policyFile)
		if err != nil {
			return err
		}
		pol = f.Policy
	}
	if err := checkNotExist(*out, *force); err != nil {
		return err
	}
	rec, err := parseRecovery(e, recoveryKeys.values, *recoveryThreshold)
	if err != nil {
		return err
	}
	p := membership.Proposal{CreatedAt: e.now(), Validity: expiresIn.d}
	g, err := membership.NewGenesisWithRecovery(*networkID, *threshold, as, ns, pol, rec, p)
	if err != nil {
		return rejected("", err)
	}
	return e.writeProposal(*out, *force, membership.Empty(*networkID), g)
}

// parseMembers parses the --approver and --node values of init.
func (e *env) parseMembers(approvers, nodes []string) ([]membership.Approver, []membership.Node, error) {
	seen := map[string]bool{}
	as := make([]membership.Approver, 0, len(approvers))
	for _, s := range approvers {
		a, err := parseApproverSpec(s)
		if err != nil {
			return nil, nil, e.usagef("--approver %v", err)
		}
		if seen["approver "+a.ID] {
			return nil, nil, e.usagef("--approver %s is given twice", a.ID)
		}
		seen["approver "+a.ID] = true
		as = append(as, a)
	}
	ns := make([]membership.Node, 0, len(nodes))
	for _, s := range nodes {
		n, err := parseNodeSpec(s)
		if err != nil {
			return nil, nil, e.usagef("--node %v", err)
		}
		if seen["node "+n.ID] {
			return nil, nil, e.usagef("--node %s is given twice", n.ID)
		}
		seen["node "+n.ID] = true
		ns = append(ns, n)
	}
	return as, ns, nil
}

// parseRecovery parses --recovery-key values and --recovery-threshold: nil
// when neither is given.
func parseRecovery(e *env, keys []string, threshold uint64) (*membership.Recovery, error) {
	if len(keys) == 0 {
		if threshold != 0 {
			return nil, e.usagef("--recovery-threshold needs --recovery-key")
		}
		return nil, nil
	}
	if threshold == 0 {
		return nil, e.usagef("--recovery-key needs --recovery-threshold")
	}
	r := &membership.Recovery{Threshold: threshold}
	for _, s := range keys {
		k, err := parseApproverKey(s)
		if err != nil {
			return nil, e.usagef("--recovery-key: %v", err)
		}
		r.Keys = append(r.Keys, k)
	}
	return membership.NewRecovery(r), nil
}
