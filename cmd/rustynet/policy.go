package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/policy"
	"github.com/rustynet/rustynet/hostapi"
)

// policyCommand is the "policy" group: offline work on the network's
// access policy (docs/policy.md) against a verified log or state directory.
// Changing the policy is a membership update: membership
// propose-set-policy.
func policyCommand() *command {
	return &command{
		name:    "policy",
		summary: "check, test and show the network's access policy",
		help: "A policy FILE is TOML (docs/policy.md). --from STATE is what the\n" +
			"membership commands take: a portable log FILE or a node state DIR.\n" +
			"Change the signed policy with `rustynet membership propose-set-policy`.",
		subs: []*command{policyCheckCommand(), policyTestCommand(), policyShowCommand()},
	}
}

// readPolicyFile reads and decodes a policy file. A problem of form
// (syntax, unknown key, wrong type) is a usage error; a value the trust
// engine refuses carries its code and exits 1. Both name file:line.
func readPolicyFile(path string) (*policy.File, error) {
	data, err := readInput(path)
	if err != nil {
		return nil, err
	}
	f, err := policy.ParseFile(path, data, nil)
	var fe *policy.FileError
	switch {
	case err == nil:
		return f, nil
	case errors.As(err, &fe) && fe.Code != "":
		return nil, &cliError{code: string(fe.Code), exit: exitRejected, msg: fe.Error()}
	}
	return nil, usageErrorf("%v", err)
}

// policyCheckCommand is "policy check".
func policyCheckCommand() *command {
	return &command{
		name:    "check",
		args:    "[--from FILE|DIR | --config FILE [--store KIND|--store-plugin PATH] [--high-water FILE] | --socket PATH] [--genesis-root HEX] POLICYFILE",
		summary: "validate a policy file and, with --from, find what in it selects nothing",
		help: "Exits 0 if POLICYFILE is a valid policy and (with --from) every selector\n" +
			"and rule selects something in the current membership; 1 with\n" +
			"POLICY_FINDINGS if something selects nothing (an unknown or revoked node,\n" +
			"a tag no active member carries, a router prefix no router serves, an exit\n" +
			"rule without an exit node, a rule that matches nothing); 1 with the\n" +
			"engine's code, or 2 (USAGE), if the file is not a valid policy.",
		run: runPolicyCheck,
	}
}

// checkOutput is what policy check prints.
type checkOutput struct {
	File     string          `json:"file"`
	Rules    int             `json:"rules"`
	Digest   string          `json:"policy_digest"` // of the canonical document
	Against  *againstOutput  `json:"membership,omitempty"`
	Findings []findingOutput `json:"findings"`
	Changes  []string        `json:"changes,omitempty"` // against the signed policy
}

// againstOutput names the membership a check or test ran against.
type againstOutput struct {
	Log       string `json:"log"`
	NetworkID string `json:"network_id"`
	Epoch     uint64 `json:"epoch"`
	StateRoot string `json:"state_root"`
}

// findingOutput is one finding of policy check.
type findingOutput struct {
	Rule     string `json:"rule,omitempty"`
	Line     int    `json:"line,omitempty"`
	Selector string `json:"selector,omitempty"`
	Message  string `json:"message"`
}

// runPolicyCheck implements "policy check".
func runPolicyCheck(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet()
	lf := addLogFlags(fs)
	pos, err := e.parse(fs, args, 1)
	if err != nil {
		return err
	}
	f, err := readPolicyFile(pos[0])
	if err != nil {
		return err
	}
	o := checkOutput{File: pos[0], Rules: len(f.Policy.Rules), Findings: []findingOutput{}}
	o.Digest = policyDigest(f.Policy)
	if lf.hasSource() {
		t, err := lf.load(ctx, e)
		if err != nil {
			return err
		}
		defer t.close(ctx, true)
		if err := t.requireTrusted("checking a policy"); err != nil {
			return err
		}
		s := t.state()
		o.Against = &againstOutput{Log: t.path, NetworkID: s.NetworkID(), Epoch: s.Epoch(), StateRoot: s.Root().String()}
		for _, fd := range policy.Check(f.Policy, s) {
			o.Findings = append(o.Findings, findingOutput{Rule: fd.Rule, Line: f.Lines[fd.Rule], Selector: fd.Selector, Message: fd.Msg})
		}
		o.Changes = membership.Describe(s, &membership.Operation{Type: membership.OpSetPolicy, Policy: f.Policy})
		if s.Policy() != nil && policyDigest(s.Policy()) == o.Digest {
			o.Changes = []string{"the signed policy is this one: no change"}
		}
	} else if len(f.Policy.Rules) == 0 {
		o.Findings = append(o.Findings, findingOutput{Message: "the policy has no rules: it allows nothing"})
	}
	if e.json {
		if err := e.printJSON(o); err != nil {
			return err
		}
	} else {
		o.writeText(e)
	}
	if len(o.Findings) > 0 {
		return &cliError{code: codePolicyFindings, exit: exitRejected, msg: fmt.Sprintf("%s: %d finding(s)", pos[0], len(o.Findings))}
	}
	return nil
}

// writeText prints a check for people.
func (o *checkOutput) writeText(e *env) {
	fmt.Fprintf(e.stdout, "%s: a valid policy of %d rule(s), digest %s\n", o.File, o.Rules, o.Digest)
	if o.Against == nil {
		fmt.Fprintln(e.stdout, "not checked against a membership (give --from)")
	} else {
		fmt.Fprintf(e.stdout, "checked against %s: network %s, epoch %d\n", o.Against.Log, o.Against.NetworkID, o.Against.Epoch)
	}
	if len(o.Findings) == 0 {
		fmt.Fprintln(e.stdout, "findings: none")
	} else {
		fmt.Fprintln(e.stdout, "findings:")
		for _, f := range o.Findings {
			where := o.File
			if f.Line > 0 {
				where += ":" + strconv.Itoa(f.Line)
			}
			msg := f.Message
			if f.Selector != "" {
				msg = f.Selector + ": " + msg
			}
			if f.Rule != "" {
				msg = "rule " + f.Rule + ": " + msg
			}
			fmt.Fprintf(e.stdout, "  %s: %s\n", where, msg)
		}
	}
	if len(o.Changes) > 0 {
		fmt.Fprintln(e.stdout, "against the signed policy:")
		for _, c := range o.Changes {
			fmt.Fprintf(e.stdout, "  %s\n", c)
		}
	}
}

// policyDigest returns the policy digest of p as a state root covers it.
func policyDigest(p *membership.Policy) string { return membership.PolicyDigest(p).String() }

// policyTestCommand is "policy test".
func policyTestCommand() *command {
	return &command{
		name:    "test",
		args:    "[--from FILE|DIR | --config FILE [--store KIND|--store-plugin PATH] [--high-water FILE] | --socket PATH] [--genesis-root HEX] [--policy POLICYFILE] SRC DST PROTO[/PORT]",
		summary: "say whether a connection is allowed, and by which rule",
		help: "SRC is a node id or mesh address; DST a node id or an address (a mesh\n" +
			"address is the mesh context, an address a router serves the router\n" +
			"context, any other the exit context); PROTO[/PORT] is tcp/PORT, udp/PORT\n" +
			"or icmp. Exits 0 if allowed, 1 with POLICY_DENIED if not. With --policy,\n" +
			"tests a draft policy file against the current membership instead of\n" +
			"the signed policy.",
		run: runPolicyTest,
	}
}

// testOutput is what policy test prints.
type testOutput struct {
	Against  againstOutput `json:"membership"`
	Policy   string        `json:"policy"` // "signed" or the draft file
	Src      string        `json:"src"`
	Dst      string        `json:"dst"`
	Protocol string        `json:"protocol"`
	Allow    bool          `json:"allow"`
	Rule     string        `json:"rule,omitempty"`
	Context  string        `json:"context,omitempty"`
	Via      string        `json:"via,omitempty"`
	Reason   string        `json:"reason"`
}

// runPolicyTest implements "policy test".
func runPolicyTest(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet()
	lf := addLogFlags(fs)
	draft := fs.String("policy", "", "test this policy `FILE` instead of the signed policy")
	pos, err := e.parse(fs, args, 3)
	if err != nil {
		return err
	}
	proto, port, err := parseProtoPort(pos[2])
	if err != nil {
		return e.usagef("%v", err)
	}
	var p *membership.Policy
	if *draft != "" {
		f, err := readPolicyFile(*draft)
		if err != nil {
			return err
		}
		p = f.Policy
	}
	t, err := lf.load(ctx, e)
	if err != nil {
		return err
	}
	defer t.close(ctx, true)
	if err := t.requireTrusted("testing a policy"); err != nil {
		return err
	}
	s := t.state()
	o := testOutput{Against: againstOutput{Log: t.path, NetworkID: s.NetworkID(), Epoch: s.Epoch(), StateRoot: s.Root().String()},
		Policy: "signed", Src: pos[0], Dst: pos[1], Protocol: pos[2]}
	if *draft != "" {
		o.Policy = *draft
	} else {
		p = s.Policy()
	}
	d := policy.Decide(p, s, pos[0], pos[1], proto, port)
	o.Allow, o.Rule, o.Context, o.Via, o.Reason = d.Allow, d.Rule, string(d.Context), d.Via, d.Reason
	if e.json {
		if err := e.printJSON(o); err != nil {
			return err
		}
	} else {
		verdict := "deny"
		if o.Allow {
			verdict = "allow"
		}
		fmt.Fprintf(e.stdout, "%s: %s -> %s %s", verdict, o.Src, o.Dst, o.Protocol)
		if o.Context != "" {
			fmt.Fprintf(e.stdout, " (%s", o.Context)
			if o.Via != "" {
				fmt.Fprintf(e.stdout, ", at %s", o.Via)
			}
			fmt.Fprint(e.stdout, ")")
		}
		fmt.Fprintf(e.stdout, "\n%s\n", o.Reason)
	}
	if !o.Allow {
		return &cliError{code: codePolicyDenied, exit: exitRejected, msg: fmt.Sprintf("%s -> %s %s: %s", o.Src, o.Dst, o.Protocol, o.Reason)}
	}
	return nil
}

// parseProtoPort parses tcp/PORT, udp/PORT or icmp.
func parseProtoPort(s string) (hostapi.Proto, uint16, error) {
	name, portText, hasPort := strings.Cut(s, "/")
	bad := fmt.Errorf("%q is not tcp/PORT, udp/PORT or icmp", s)
	switch name {
	case "icmp":
		if hasPort {
			return 0, 0, bad
		}
		return hostapi.ProtoICMP, 0, nil
	case "tcp", "udp":
		n, err := strconv.ParseUint(portText, 10, 16)
		if !hasPort || err != nil || n == 0 {
			return 0, 0, bad
		}
		if name == "tcp" {
			return hostapi.ProtoTCP, uint16(n), nil
		}
		return hostapi.ProtoUDP, uint16(n), nil
	}
	return 0, 0, bad
}

// policyShowCommand is "policy show".
func policyShowCommand() *command {
	return &command{
		name:    "show",
		args:    "[--from FILE|DIR | --config FILE [--store KIND|--store-plugin PATH] [--high-water FILE] | --socket PATH] [--genesis-root HEX] [--out FILE [--force]]",
		summary: "print the signed policy as a policy file (--json: the canonical document)",
		help: "The file it prints reads back as the signed policy: edit it, check it\n" +
			"with `policy check`, and propose it with `membership propose-set-policy`.",
		run: runPolicyShow,
	}
}

// showOutput is what policy show --json prints.
type showOutput struct {
	Against againstOutput   `json:"membership"`
	Digest  string          `json:"policy_digest,omitempty"` // "" without a policy
	Policy  json.RawMessage `json:"policy"`                  // the canonical document; null without one
}

// runPolicyShow implements "policy show".
func runPolicyShow(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet()
	lf := addLogFlags(fs)
	out := fs.String("out", "", "write the policy file to `FILE` instead of stdout")
	force := fs.Bool("force", false, "replace FILE if it exists")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	if *out != "" {
		if err := checkNotExist(*out, *force); err != nil {
			return err
		}
	}
	t, err := lf.load(ctx, e)
	if err != nil {
		return err
	}
	defer t.close(ctx, true)
	if err := t.requireTrusted("showing the policy"); err != nil {
		return err
	}
	s := t.state()
	p := s.Policy()
	if e.json && *out == "" {
		o := showOutput{Against: againstOutput{Log: t.path, NetworkID: s.NetworkID(), Epoch: s.Epoch(), StateRoot: s.Root().String()}, Policy: json.RawMessage("null")}
		if d, ok := s.PolicyDigest(); ok {
			o.Digest, o.Policy = d.String(), membership.EncodePolicy(p)
		}
		return e.printJSON(o)
	}
	header := fmt.Sprintf("Access policy of network %s at epoch %d (state root %s).\n", s.NetworkID(), s.Epoch(), s.Root())
	if p == nil {
		header += "The network has no policy: every connection is denied.\n"
	}
	header += "Edit, then: rustynet policy check FILE --from LOG; rustynet membership propose-set-policy --policy FILE"
	text := policy.Format(p, header)
	if *out == "" {
		_, err := e.stdout.Write(text)
		return err
	}
	if err := writeNewFile(*out, text, 0o644, *force); err != nil {
		return err
	}
	if e.json {
		return e.printJSON(map[string]string{"file": *out})
	}
	fmt.Fprintf(e.stdout, "wrote %s\n", *out)
	return nil
}
