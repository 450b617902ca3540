package main

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/rustynet/rustynet/core/membership"
)

// statusCommand is "membership status".
func statusCommand() *command {
	return &command{
		name:    "status",
		args:    "[--from FILE|DIR | --config FILE [--store KIND|--store-plugin PATH] [--high-water FILE] | --socket PATH] [--genesis-root HEX] [--json]",
		summary: "verify a log, state directory or the local daemon's log and show the membership it leads to",
		help: "Without --from or --config it reads the local daemon's log and verifies\n" +
			"it here, as it verifies a file. It writes nothing (no high-water mark).\n" +
			"A state directory or daemon in restricted-safe mode shows the longest\n" +
			"verified prefix of its log and exits 1 with INTEGRITY_FAILURE and the reason.",
		run: runStatus,
	}
}

// exportCommand is "membership export".
func exportCommand() *command {
	return &command{
		name:    "export",
		args:    "[--from FILE|DIR | --config FILE [--store KIND|--store-plugin PATH] [--high-water FILE] | --socket PATH] [--genesis-root HEX] --out FILE [--force]",
		summary: "verify a log, state directory or the local daemon's log and write its portable log",
		help:    "Without --from or --config it exports the local daemon's log, verified here.",
		run:     runExport,
	}
}

// statusOutput is what status prints.
type statusOutput struct {
	Log           string           `json:"log"`             // the log file or state directory
	Store         string           `json:"store,omitempty"` // the store plugin of a state directory
	Restricted    bool             `json:"restricted"`      // the state directory is in restricted-safe mode
	Reason        string           `json:"restricted_reason,omitempty"`
	NetworkID     string           `json:"network_id"`
	GenesisRoot   string           `json:"genesis_root"`
	GenesisPinned bool             `json:"genesis_pinned"`
	Epoch         uint64           `json:"epoch"`
	StateRoot     string           `json:"state_root"`
	LogEntries    int              `json:"log_entries"`
	Threshold     uint64           `json:"threshold"`
	SchemaVersion uint64           `json:"schema_version"` // 2 once the network has a policy
	Policy        *policyOutput    `json:"policy"`         // null: no policy, every connection denied
	Approvers     []approverOutput `json:"approvers"`
	Nodes         []nodeOutput     `json:"nodes"`
}

// policyOutput summarises the access policy in status.
type policyOutput struct {
	Rules  int    `json:"rules"`
	Digest string `json:"policy_digest"`
}

// approverOutput is one approver in status.
type approverOutput struct {
	ID        string `json:"approver_id"`
	Role      string `json:"role"`
	PublicKey string `json:"public_key"`
}

// nodeOutput is one node in status.
type nodeOutput struct {
	ID        string   `json:"node_id"`
	Status    string   `json:"status"`
	PublicKey string   `json:"public_key"`
	Addresses []string `json:"addresses"`
	Endpoints []string `json:"endpoints"`
	Tags      []string `json:"tags"`
	Routes    []string `json:"routes"`
	Owner     string   `json:"owner"`
}

// runStatus implements "membership status".
func runStatus(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet()
	lf := addLogFlags(fs)
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	t, err := lf.load(ctx, e)
	if err != nil {
		return err
	}
	defer t.close(ctx, true)
	o := newStatus(t)
	if e.json {
		err = e.printJSON(o)
	} else {
		o.writeText(e)
	}
	if err != nil {
		return err
	}
	if t.sd != nil {
		if r := t.sd.ledger.Restricted(); r != nil {
			return integrityFailure(r)
		}
	}
	if t.restrictedReason != "" {
		return integrityFailure(&membership.Error{Code: membership.IntegrityFailure, Msg: joinContext(t.path, t.restrictedReason)})
	}
	return nil
}

// newStatus describes the head of a trusted log (for a state directory in
// restricted-safe mode, of its longest verified prefix).
func newStatus(t *trustedLog) statusOutput {
	o := statusOutput{
		Log: t.path, GenesisPinned: t.pinned, LogEntries: len(t.entries),
		Approvers: []approverOutput{}, Nodes: []nodeOutput{},
	}
	if t.sd != nil {
		o.Store = t.sd.store.name()
		if r := t.sd.ledger.Restricted(); r != nil {
			o.Restricted, o.Reason = true, r.Error()
		}
	}
	if t.restrictedReason != "" {
		o.Restricted, o.Reason = true, t.restrictedReason
	}
	s := t.state()
	if s == nil {
		return o
	}
	o.NetworkID, o.GenesisRoot = s.NetworkID(), t.genesisRoot().String()
	o.Epoch, o.StateRoot, o.Threshold = s.Epoch(), s.Root().String(), s.Threshold()
	o.SchemaVersion = s.SchemaVersion()
	if d, ok := s.PolicyDigest(); ok {
		o.Policy = &policyOutput{Rules: len(s.Policy().Rules), Digest: d.String()}
	}
	for _, a := range s.Approvers() {
		o.Approvers = append(o.Approvers, approverOutput{ID: a.ID, Role: string(a.Role), PublicKey: a.PublicKey.String()})
	}
	for n := range s.Nodes() {
		o.Nodes = append(o.Nodes, nodeOutput{
			ID: n.ID, Status: string(n.Status), PublicKey: n.PublicKey.String(),
			Addresses: stringsOf(n.Addresses), Endpoints: stringsOf(n.Endpoints),
			Tags: append([]string{}, n.Tags...), Routes: stringsOf(n.Routes), Owner: n.Owner,
		})
	}
	return o
}

// writeText prints the status as a header and two tables.
func (o *statusOutput) writeText(e *env) {
	if o.Restricted {
		fmt.Fprintf(e.stdout, "trust: RESTRICTED: %s\nshowing the longest verified prefix of the log:\n\n", o.Reason)
	}
	if o.LogEntries == 0 {
		fmt.Fprintf(e.stdout, "%s holds no verified membership: no genesis applied or verified\n", o.Log)
		return
	}
	tw := newTable(e.stdout)
	fmt.Fprintf(tw, "network:\t%s\n", o.NetworkID)
	fmt.Fprintf(tw, "genesis root:\t%s (%s)\n", o.GenesisRoot, pinnedWord(o.GenesisPinned))
	fmt.Fprintf(tw, "epoch:\t%d\n", o.Epoch)
	fmt.Fprintf(tw, "state root:\t%s\n", o.StateRoot)
	fmt.Fprintf(tw, "threshold:\t%d of %d approvers\n", o.Threshold, len(o.Approvers))
	if o.Policy != nil {
		fmt.Fprintf(tw, "policy:\t%d rule(s), digest %s (rustynet policy show)\n", o.Policy.Rules, o.Policy.Digest)
	} else {
		fmt.Fprintf(tw, "policy:\tnone: every connection is denied (schema 1; see docs/policy.md §7)\n")
	}
	tw.Flush()
	fmt.Fprintln(e.stdout, "\napprovers:")
	tw = newTable(e.stdout)
	fmt.Fprintln(tw, "  ID\tROLE\tPUBLIC KEY")
	for _, a := range o.Approvers {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", a.ID, a.Role, a.PublicKey)
	}
	tw.Flush()
	fmt.Fprintln(e.stdout, "\nnodes:")
	tw = newTable(e.stdout)
	fmt.Fprintln(tw, "  ID\tSTATUS\tPUBLIC KEY\tADDRESSES\tENDPOINTS\tTAGS\tROUTES\tOWNER")
	for _, n := range o.Nodes {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n.ID, n.Status, n.PublicKey,
			cell(n.Addresses), cell(n.Endpoints), cell(n.Tags), cell(n.Routes), cell(nonEmpty(n.Owner)))
	}
	tw.Flush()
}

// nonEmpty returns s as a one-element list, or no list if s is empty.
func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// exportOutput is what export prints.
type exportOutput struct {
	File       string `json:"file"`
	LogEntries int    `json:"log_entries"`
	Epoch      uint64 `json:"epoch"`
	StateRoot  string `json:"state_root"`
}

// runExport implements "membership export".
func runExport(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet()
	lf := addLogFlags(fs)
	out := fs.String("out", "", "write the verified log to `FILE`")
	force := fs.Bool("force", false, "replace FILE if it exists")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	if err := e.require(fs, "out"); err != nil {
		return err
	}
	if err := checkNotExist(*out, *force); err != nil {
		return err
	}
	t, err := lf.load(ctx, e)
	if err != nil {
		return err
	}
	defer t.close(ctx, true)
	if err := t.requireTrusted("exporting"); err != nil {
		return err
	}
	o, err := writeLog(t, *out, 0o644, *force)
	if err != nil {
		return err
	}
	if e.json {
		return e.printJSON(o)
	}
	fmt.Fprintf(e.stdout, "exported %d update(s) to %s: epoch %d, state root %s\n", o.LogEntries, o.File, o.Epoch, o.StateRoot)
	return nil
}

// writeLog writes the portable log of t to out with mode perm, after
// checking that the bytes about to be written verify back to t's head.
func writeLog(t *trustedLog, out string, perm fs.FileMode, force bool) (exportOutput, error) {
	s := t.state()
	data := membership.EncodeLog(t.entries)
	if err := checkReadsBack(data, t.genesisRoot(), s); err != nil {
		return exportOutput{}, err
	}
	if err := writeNewFile(out, data, perm, force); err != nil {
		return exportOutput{}, err
	}
	return exportOutput{File: out, LogEntries: len(t.entries), Epoch: s.Epoch(), StateRoot: s.Root().String()}, nil
}
