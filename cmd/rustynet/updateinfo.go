package main

import (
	"encoding/hex"
	"fmt"
	"io"

	"github.com/rustynet/rustynet/core/membership"
)

// updateInfo describes an update and what it changes; every command that
// reports on an update starts with it.
type updateInfo struct {
	NetworkID     string   `json:"network_id"`
	UpdateID      string   `json:"update_id"`
	Operation     string   `json:"operation"`
	PrevEpoch     uint64   `json:"prev_epoch"` // epoch of the state it is checked against
	Epoch         uint64   `json:"epoch"`
	PrevStateRoot string   `json:"prev_state_root"`
	NewStateRoot  string   `json:"new_state_root"`
	CreatedAt     string   `json:"created_at"`
	ExpiresAt     string   `json:"expires_at"`
	Changes       []string `json:"changes"`
}

// describeUpdate describes u as applied to pre.
func describeUpdate(pre *membership.State, u *membership.SignedUpdate) updateInfo {
	b := &u.Body
	return updateInfo{
		NetworkID:     b.NetworkID,
		UpdateID:      hex.EncodeToString(b.UpdateID[:]),
		Operation:     string(b.Operation.Type),
		PrevEpoch:     pre.Epoch(),
		Epoch:         b.Epoch,
		PrevStateRoot: b.PrevStateRoot.String(),
		NewStateRoot:  b.NewStateRoot.String(),
		CreatedAt:     formatUnix(b.CreatedAt),
		ExpiresAt:     formatUnix(b.ExpiresAt),
		Changes:       membership.Describe(pre, &b.Operation),
	}
}

// writeText prints the description for people.
func (i *updateInfo) writeText(w io.Writer) {
	tw := newTable(w)
	fmt.Fprintf(tw, "network:\t%s\n", i.NetworkID)
	fmt.Fprintf(tw, "update:\t%s (%s)\n", i.UpdateID, i.Operation)
	fmt.Fprintf(tw, "epoch:\t%d -> %d\n", i.PrevEpoch, i.Epoch)
	fmt.Fprintf(tw, "prev root:\t%s\n", i.PrevStateRoot)
	fmt.Fprintf(tw, "new root:\t%s\n", i.NewStateRoot)
	fmt.Fprintf(tw, "created:\t%s\n", i.CreatedAt)
	fmt.Fprintf(tw, "expires:\t%s\n", i.ExpiresAt)
	tw.Flush()
	fmt.Fprintln(w, "changes:")
	for _, c := range i.Changes {
		fmt.Fprintf(w, "  %s\n", c)
	}
}

// needsInfo says which signatures an update needs before it can be applied.
type needsInfo struct {
	CurrentApprovers   uint64   `json:"current_approvers"`   // signatures of the pre-state's approvers; 0 for genesis
	ResultingApprovers uint64   `json:"resulting_approvers"` // signatures of the post-state's approvers; 0 unless required
	Owner              bool     `json:"owner"`               // an owner of the pre-state must sign
	SelfSign           []string `json:"self_sign"`           // approvers that must sign their own addition
}

// signaturesNeeded asks the engine what u needs: verifying it as it is
// (typically unsigned) fills in the requirements even though it fails.
func signaturesNeeded(pre *membership.State, u *membership.SignedUpdate, now membership.Options) needsInfo {
	res, _ := membership.Evaluate(pre, u, now)
	n := needsInfo{SelfSign: []string{}}
	if res == nil {
		return n
	}
	a := &res.Auth
	if a.Old != nil {
		n.CurrentApprovers = a.Old.Need
	}
	if a.New != nil {
		n.ResultingApprovers = a.New.Need
	}
	n.Owner = a.OwnerRequired
	n.SelfSign = append(n.SelfSign, a.MustSign...)
	return n
}

// writeText prints the requirements for people.
func (n *needsInfo) writeText(w io.Writer) {
	fmt.Fprintln(w, "needs:")
	if n.CurrentApprovers > 0 {
		fmt.Fprintf(w, "  %d signature(s) of current approvers\n", n.CurrentApprovers)
	}
	if n.ResultingApprovers > 0 {
		fmt.Fprintf(w, "  %d signature(s) of the resulting approver set\n", n.ResultingApprovers)
	}
	if n.Owner {
		fmt.Fprintln(w, "  an owner's signature")
	}
	for _, id := range n.SelfSign {
		fmt.Fprintf(w, "  the signature of %s itself\n", id)
	}
}

// proposalOutput is what init and the propose commands print.
type proposalOutput struct {
	File string `json:"file"`
	updateInfo
	Needs needsInfo `json:"needs"`
}

// writeProposal writes the new, unsigned update u (proposed against pre) to
// out and describes it.
func (e *env) writeProposal(out string, force bool, pre *membership.State, u *membership.SignedUpdate) error {
	if err := writeNewFile(out, u.Encode(), 0o644, force); err != nil {
		return err
	}
	o := proposalOutput{
		File:       out,
		updateInfo: describeUpdate(pre, u),
		Needs:      signaturesNeeded(pre, u, membership.Options{Now: e.now()}),
	}
	if e.json {
		return e.printJSON(o)
	}
	fmt.Fprintf(e.stdout, "wrote %s\n", out)
	o.updateInfo.writeText(e.stdout)
	o.Needs.writeText(e.stdout)
	return nil
}
