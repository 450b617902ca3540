package main

import (
	"context"
	"flag"

	"github.com/rustynet/rustynet/core/membership"
)

// proposer is one propose-* command: its own flags, and how their values
// become an operation on the current state.
type proposer struct {
	name     string
	args     string // the operation's own flags, for the synopsis
	summary  string
	required []string // names of its flags that must be given
	// define defines the operation's flags on fs and returns the function
	// that builds the operation once fs is parsed.
	define func(fs *flag.FlagSet) opBuilder
}

// opBuilder builds an operation from parsed flags and the current state.
// Its errors are usage errors (the caller adds the command name).
type opBuilder func(e *env, pre *membership.State) (membership.Operation, error)

// proposeCommands returns the propose-* commands, one per operation.
func proposeCommands() []*command {
	ps := []proposer{
		proposeAddNode(),
		proposeNodeOnly("propose-remove-node", membership.OpRemoveNode, "remove a node from the network"),
		proposeNodeOnly("propose-revoke-node", membership.OpRevokeNode, "revoke a node: every peer drops it at once"),
		proposeNodeOnly("propose-restore-node", membership.OpRestoreNode, "restore a revoked node"),
		proposeRotateNodeKey(),
		proposeUpdateNode(),
		proposeAddApprover(),
		proposeRemoveApprover(),
		proposeSetThreshold(),
		proposeSetPolicy(),
		proposeSetRecovery(),
		proposeRecover(),
	}
	cmds := make([]*command, len(ps))
	for i, p := range ps {
		cmds[i] = p.command()
	}
	return cmds
}

// command returns the command for p.
func (p proposer) command() *command {
	return &command{
		name:    p.name,
		args:    "[--from FILE|DIR | --config FILE [--store KIND|--store-plugin PATH] [--high-water FILE] | --socket PATH] [--genesis-root HEX] " + p.args + " [--expires-in DURATION] --out FILE [--force]",
		summary: "propose: " + p.summary,
		help: "Writes the unsigned update to FILE, proposed against the head of the log\n" +
			"(--from, --config, else the local daemon's log, verified here). Approvers\n" +
			"review it with verify-update and sign it with sign-update; apply-update\n" +
			"then appends it to the log.\n" +
			"The update is for the next epoch of the log's head: once another update\n" +
			"takes that epoch it is STALE_EPOCH, and must be proposed again and signed\n" +
			"again. It expires after --expires-in (default " + formatDays(defaultExpiry) + ", at most " + formatDays(maxExpiry) + ").",
		run: p.run,
	}
}

// run implements every propose-* command.
func (p proposer) run(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet()
	lf := addLogFlags(fs)
	expiresIn := addExpiryFlag(fs, "how long approvers have to sign and apply it")
	out := fs.String("out", "", "write the unsigned update to `FILE`")
	force := fs.Bool("force", false, "replace FILE if it exists")
	build := p.define(fs)
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	if err := e.require(fs, append([]string{"out"}, p.required...)...); err != nil {
		return err
	}
	if err := checkNotExist(*out, *force); err != nil {
		return err
	}
	if sameFile(*out, lf.from) {
		return e.usagef("--out names the --from log; write the proposal to a file of its own")
	}
	t, err := lf.load(ctx, e)
	if err != nil {
		return err
	}
	defer t.close(ctx, true)
	if err := t.requireTrusted("proposing an update"); err != nil {
		return err
	}
	pre := t.state()
	op, err := build(e, pre)
	if err != nil {
		return err
	}
	u, err := membership.NewUpdate(pre, op, membership.Proposal{CreatedAt: e.now(), Validity: expiresIn.d})
	if err != nil {
		return rejected("", err)
	}
	return e.writeProposal(*out, *force, pre, u)
}

// nodeListFlags are the list flags a node record has.
type nodeListFlags struct {
	addresses, endpoints, tags, routes *listFlag
}

// defineNodeLists defines --address, --endpoint, --tag and --route.
func defineNodeLists(fs *flag.FlagSet) nodeListFlags {
	return nodeListFlags{
		addresses: listVar(fs, "address", "mesh `ADDRESS`: a host prefix such as 100.64.0.2/32, or a bare IP"),
		endpoints: listVar(fs, "endpoint", "endpoint hint `IP:PORT`"),
		tags:      listVar(fs, "tag", "`TAG` or role such as exit or router"),
		routes:    listVar(fs, "route", "advertised route `PREFIX`"),
	}
}

// apply parses the lists that were given into n, leaving the others as
// they are, and normalises n.
func (l nodeListFlags) apply(e *env, n *membership.Node) error {
	var err error
	if l.addresses.given {
		if n.Addresses, err = parseAddresses(l.addresses.values); err != nil {
			return e.usagef("--address %v", err)
		}
	}
	if l.endpoints.given {
		if n.Endpoints, err = parseEndpoints(l.endpoints.values); err != nil {
			return e.usagef("--endpoint %v", err)
		}
	}
	if l.tags.given {
		n.Tags = append([]string{}, l.tags.values...)
	}
	if l.routes.given {
		if n.Routes, err = parseRoutes(l.routes.values); err != nil {
			return e.usagef("--route %v", err)
		}
	}
	n.Normalize()
	return nil
}

// proposeAddNode is "propose-add-node".
func proposeAddNode() proposer {
	return proposer{
		name:     "propose-add-node",
		args:     "--node-id ID --node-key PUBKEY --address PREFIX... [--endpoint IP:PORT...] [--tag TAG...] [--route PREFIX...] [--owner TEXT]",
		summary:  "add a node",
		required: []string{"node-id", "node-key", "address"},
		define: func(fs *flag.FlagSet) opBuilder {
			id := fs.String("node-id", "", "the new node's `ID`")
			key := fs.String("node-key", "", "its WireGuard public key (`BASE64`)")
			owner := fs.String("owner", "", "free-form owner label (`TEXT`)")
			lists := defineNodeLists(fs)
			return func(e *env, _ *membership.State) (membership.Operation, error) {
				n := membership.Node{ID: *id, Owner: *owner, Status: membership.StatusActive}
				k, err := parseNodeKey(*key)
				if err != nil {
					return membership.Operation{}, e.usagef("--node-key: %v", err)
				}
				n.PublicKey = k
				if err := lists.apply(e, &n); err != nil {
					return membership.Operation{}, err
				}
				return membership.Operation{Type: membership.OpAddNode, Node: n}, nil
			}
		},
	}
}

// proposeNodeOnly is a propose command whose operation takes only a node id.
func proposeNodeOnly(name string, op membership.OpType, summary string) proposer {
	return proposer{
		name:     name,
		args:     "--node-id ID",
		summary:  summary,
		required: []string{"node-id"},
		define: func(fs *flag.FlagSet) opBuilder {
			id := fs.String("node-id", "", "the node's `ID`")
			return func(*env, *membership.State) (membership.Operation, error) {
				return membership.Operation{Type: op, NodeID: *id}, nil
			}
		},
	}
}

// proposeRotateNodeKey is "propose-rotate-node-key".
func proposeRotateNodeKey() proposer {
	return proposer{
		name:     "propose-rotate-node-key",
		args:     "--node-id ID --node-key NEWPUBKEY",
		summary:  "replace a node's WireGuard public key",
		required: []string{"node-id", "node-key"},
		define: func(fs *flag.FlagSet) opBuilder {
			id := fs.String("node-id", "", "the node's `ID`")
			key := fs.String("node-key", "", "its new WireGuard public key (`BASE64`)")
			return func(e *env, _ *membership.State) (membership.Operation, error) {
				k, err := parseNodeKey(*key)
				if err != nil {
					return membership.Operation{}, e.usagef("--node-key: %v", err)
				}
				return membership.Operation{Type: membership.OpRotateNodeKey, NodeID: *id, PublicKey: k}, nil
			}
		},
	}
}

// proposeUpdateNode is "propose-update-node": each list given replaces the
// node's list; lists not given keep their current values; an empty value
// (--tag=) empties a list.
func proposeUpdateNode() proposer {
	return proposer{
		name:     "propose-update-node",
		args:     "--node-id ID [--address PREFIX...] [--endpoint IP:PORT...] [--tag TAG...] [--route PREFIX...]",
		summary:  "replace a node's addresses, endpoints, tags or routes",
		required: []string{"node-id"},
		define: func(fs *flag.FlagSet) opBuilder {
			id := fs.String("node-id", "", "the node's `ID`")
			lists := defineNodeLists(fs)
			return func(e *env, pre *membership.State) (membership.Operation, error) {
				if !lists.addresses.given && !lists.endpoints.given && !lists.tags.given && !lists.routes.given {
					return membership.Operation{}, e.usagef("nothing to change: give --address, --endpoint, --tag or --route (an empty value such as --tag= empties a list)")
				}
				n, _ := pre.Node(*id) // an unknown node is the engine's to refuse
				if err := lists.apply(e, &n); err != nil {
					return membership.Operation{}, err
				}
				return membership.Operation{
					Type: membership.OpUpdateNode, NodeID: *id,
					Addresses: n.Addresses, Endpoints: n.Endpoints, Tags: n.Tags, Routes: n.Routes,
				}, nil
			}
		},
	}
}

// proposeAddApprover is "propose-add-approver".
func proposeAddApprover() proposer {
	return proposer{
		name:     "propose-add-approver",
		args:     "--approver-id ID --approver-key PUBKEY [--owner]",
		summary:  "add an approver (needs an owner, both thresholds, and the new approver's own signature)",
		required: []string{"approver-id", "approver-key"},
		define: func(fs *flag.FlagSet) opBuilder {
			id := fs.String("approver-id", "", "the new approver's `ID`")
			key := fs.String("approver-key", "", "its Ed25519 public key (`BASE64`)")
			owner := fs.Bool("owner", false, "make it an owner")
			return func(e *env, _ *membership.State) (membership.Operation, error) {
				k, err := parseApproverKey(*key)
				if err != nil {
					return membership.Operation{}, e.usagef("--approver-key: %v", err)
				}
				a := membership.Approver{ID: *id, PublicKey: k, Role: membership.RoleApprover}
				if *owner {
					a.Role = membership.RoleOwner
				}
				return membership.Operation{Type: membership.OpAddApprover, Approver: a}, nil
			}
		},
	}
}

// proposeRemoveApprover is "propose-remove-approver".
func proposeRemoveApprover() proposer {
	return proposer{
		name:     "propose-remove-approver",
		args:     "--approver-id ID",
		summary:  "remove an approver (needs an owner and both thresholds)",
		required: []string{"approver-id"},
		define: func(fs *flag.FlagSet) opBuilder {
			id := fs.String("approver-id", "", "the approver's `ID`")
			return func(*env, *membership.State) (membership.Operation, error) {
				return membership.Operation{Type: membership.OpRemoveApprover, ApproverID: *id}, nil
			}
		},
	}
}

// proposeSetThreshold is "propose-set-threshold".
func proposeSetThreshold() proposer {
	return proposer{
		name:     "propose-set-threshold",
		args:     "--threshold K",
		summary:  "change how many approver signatures an update needs (needs an owner and both thresholds)",
		required: []string{"threshold"},
		define: func(fs *flag.FlagSet) opBuilder {
			k := fs.Uint64("threshold", 0, "the new threshold `K`")
			return func(*env, *membership.State) (membership.Operation, error) {
				return membership.Operation{Type: membership.OpSetThreshold, Threshold: *k}, nil
			}
		},
	}
}

// proposeSetPolicy is "propose-set-policy": the whole policy of the file
// replaces the network's (docs/policy.md).
func proposeSetPolicy() proposer {
	return proposer{
		name:     "propose-set-policy",
		args:     "--policy POLICYFILE",
		summary:  "replace the network's access policy (needs the current threshold; verify-update shows the rule diff)",
		required: []string{"policy"},
		define: func(fs *flag.FlagSet) opBuilder {
			file := fs.String("policy", "", "the new access policy `FILE` (TOML, docs/policy.md)")
			return func(*env, *membership.State) (membership.Operation, error) {
				f, err := readPolicyFile(*file)
				if err != nil {
					return membership.Operation{}, err
				}
				return membership.Operation{Type: membership.OpSetPolicy, Policy: f.Policy}, nil
			}
		},
	}
}

// proposeSetRecovery is "propose-set-recovery": declare or replace the
// network's cold recovery keys (docs/recovery.md).
func proposeSetRecovery() proposer {
	return proposer{
		name:     "propose-set-recovery",
		args:     "--recovery-key PUBKEY... --recovery-threshold R",
		summary:  "declare or replace the cold recovery keys (needs an owner, the threshold, and each new recovery key's own signature)",
		required: []string{"recovery-key", "recovery-threshold"},
		define: func(fs *flag.FlagSet) opBuilder {
			keys := listVar(fs, "recovery-key", "a recovery key (Ed25519 public key, `BASE64`)")
			t := fs.Uint64("recovery-threshold", 0, "how many recovery keys together may replace the approvers (`R`)")
			return func(e *env, _ *membership.State) (membership.Operation, error) {
				r, err := parseRecovery(e, keys.values, *t)
				if err != nil {
					return membership.Operation{}, err
				}
				return membership.Operation{Type: membership.OpSetRecovery, Recovery: r}, nil
			}
		},
	}
}

// proposeRecover is "propose-recover": replace the whole approver set, to
// be signed by the recovery keys (docs/recovery.md).
func proposeRecover() proposer {
	return proposer{
		name:     "propose-recover",
		args:     "--approver ID=PUBKEY[:owner]... --threshold K",
		summary:  "RECOVERY: replace the whole approver set (signed by the recovery threshold of recovery keys and every new approver, no old approver)",
		required: []string{"approver", "threshold"},
		define: func(fs *flag.FlagSet) opBuilder {
			approvers := listVar(fs, "approver", "an approver of the new set, `ID=PUBKEY[:owner]`")
			k := fs.Uint64("threshold", 0, "the new set's threshold `K`")
			return func(e *env, _ *membership.State) (membership.Operation, error) {
				as, _, err := e.parseMembers(approvers.values, nil)
				if err != nil {
					return membership.Operation{}, err
				}
				return membership.Operation{Type: membership.OpRecover, Approvers: membership.NewApproverSet(as), Threshold: *k}, nil
			}
		},
	}
}
