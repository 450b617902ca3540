package main

import (
	"context"
	"fmt"

	"github.com/rustynet/rustynet/core/membership"
)

// statusCommand is "membership status".
func statusCommand() *command {
	return &command{
		name:    "status",
		args:    "--from FILE [--genesis-root HEX] [--json]",
		summary: "verify a log and show the membership it leads to",
		run:     runStatus,
	}
}

// exportCommand is "membership export".
func exportCommand() *command {
	return &command{
		name:    "export",
		args:    "--from FILE [--genesis-root HEX] --out FILE [--force]",
		summary: "verify a log and write a copy of it",
		run:     runExport,
	}
}

// statusOutput is what status prints.
type statusOutput struct {
	Log           string           `json:"log"`
	NetworkID     string           `json:"network_id"`
	GenesisRoot   string           `json:"genesis_root"`
	GenesisPinned bool             `json:"genesis_pinned"`
	Epoch         uint64           `json:"epoch"`
	StateRoot     string           `json:"state_root"`
	LogEntries    int              `json:"log_entries"`
	Threshold     uint64           `json:"threshold"`
	Approvers     []approverOutput `json:"approvers"`
	Nodes         []nodeOutput     `json:"nodes"`
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
func runStatus(_ context.Context, e *env, args []string) error {
	fs := e.flagSet()
	lf := addLogFlags(fs)
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	t, err := lf.load(e)
	if err != nil {
		return err
	}
	o := newStatus(t)
	if e.json {
		return e.printJSON(o)
	}
	o.writeText(e)
	return nil
}

// newStatus describes the head of a trusted log.
func newStatus(t *trustedLog) statusOutput {
	s := t.chain.State()
	o := statusOutput{
		Log: t.path, NetworkID: s.NetworkID(),
		GenesisRoot: t.genesisRoot().String(), GenesisPinned: t.pinned,
		Epoch: s.Epoch(), StateRoot: s.Root().String(), LogEntries: len(t.entries),
		Threshold: s.Threshold(), Approvers: []approverOutput{}, Nodes: []nodeOutput{},
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
	tw := newTable(e.stdout)
	fmt.Fprintf(tw, "network:\t%s\n", o.NetworkID)
	fmt.Fprintf(tw, "genesis root:\t%s (%s)\n", o.GenesisRoot, pinnedWord(o.GenesisPinned))
	fmt.Fprintf(tw, "epoch:\t%d\n", o.Epoch)
	fmt.Fprintf(tw, "state root:\t%s\n", o.StateRoot)
	fmt.Fprintf(tw, "threshold:\t%d of %d approvers\n", o.Threshold, len(o.Approvers))
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
func runExport(_ context.Context, e *env, args []string) error {
	fs := e.flagSet()
	lf := addLogFlags(fs)
	out := fs.String("out", "", "write the verified log to `FILE`")
	force := fs.Bool("force", false, "replace FILE if it exists")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	if err := e.require(fs, "from", "out"); err != nil {
		return err
	}
	if err := checkNotExist(*out, *force); err != nil {
		return err
	}
	t, err := lf.load(e)
	if err != nil {
		return err
	}
	if err := writeNewFile(*out, membership.EncodeLog(t.entries), 0o644, *force); err != nil {
		return err
	}
	s := t.chain.State()
	o := exportOutput{File: *out, LogEntries: len(t.entries), Epoch: s.Epoch(), StateRoot: s.Root().String()}
	if e.json {
		return e.printJSON(o)
	}
	fmt.Fprintf(e.stdout, "exported %d update(s) to %s: epoch %d, state root %s\n", o.LogEntries, o.File, o.Epoch, o.StateRoot)
	return nil
}
