package main

import (
	"fmt"
	"io"

	"github.com/rustynet/rustynet/core/membership"
)

// verifyReport is what verify-update prints: the update, each signature
// entry, each threshold and rule, and the verdict. It is filled as far as
// verification got, so a rejected update is still explained.
type verifyReport struct {
	File          string `json:"file"`
	GenesisRoot   string `json:"genesis_root,omitempty"` // of the log verified against
	GenesisPinned bool   `json:"genesis_pinned"`
	updateInfo
	Signatures []signerReport `json:"signatures"`
	// Evaluated says whether verification got as far as counting
	// signatures; if not, the fields below it are empty.
	Evaluated      bool              `json:"authorization_evaluated"`
	Thresholds     []thresholdReport `json:"thresholds"`
	OwnerRequired  bool              `json:"owner_required"`
	OwnerSigned    bool              `json:"owner_signed"`
	SelfSignatures []selfSignReport  `json:"self_signatures"`
	Result         string            `json:"result"`              // "ok" or the error code
	Error          string            `json:"error,omitempty"`     // the error message
	Why            string            `json:"why,omitempty"`       // what in the log led to the verdict, where the log tells more than the message
	NextStep       string            `json:"next_step,omitempty"` // what to do about the verdict, for verdicts that have one
}

// Signature entry statuses.
const (
	sigValid     = "valid"
	sigInvalid   = "invalid"        // the signature does not verify
	sigUnknown   = "unknown_signer" // the key is no approver's
	sigUnchecked = "unchecked"      // verification stopped before this entry
)

// signerReport is one signature entry.
type signerReport struct {
	ApproverID string `json:"approver_id"` // "" if the key is no approver's
	Role       string `json:"role"`
	PublicKey  string `json:"public_key"`
	CountsOld  bool   `json:"counts_current"`   // an approver of the current set
	CountsNew  bool   `json:"counts_resulting"` // an approver of the resulting set
	Status     string `json:"status"`
}

// thresholdReport is one threshold: distinct valid signatures of a set.
type thresholdReport struct {
	Set  string `json:"set"` // "current" or "resulting"
	Have uint64 `json:"have"`
	Need uint64 `json:"need"`
	Met  bool   `json:"met"`
}

// selfSignReport is an approver that must sign its own addition.
type selfSignReport struct {
	ApproverID string `json:"approver_id"`
	Signed     bool   `json:"signed"`
}

// buildReport explains the verification of the update in file: res and
// verr are what the engine returned (res may be partial), t the log it was
// checked against (nil for a genesis checked on its own).
func buildReport(file string, t *trustedLog, res *membership.Result, verr error) verifyReport {
	r := verifyReport{
		File:       file,
		updateInfo: describeUpdate(res.Pre, res.Update),
		Signatures: signerReports(res, verr),
		Result:     "ok",
	}
	if t != nil && !t.empty() {
		r.GenesisRoot, r.GenesisPinned = t.genesisRoot().String(), t.pinned
	}
	a := &res.Auth
	r.Evaluated = a.Old != nil || a.New != nil
	r.Thresholds = []thresholdReport{}
	if a.Old != nil {
		r.Thresholds = append(r.Thresholds, thresholdReport{"current", a.Old.Have, a.Old.Need, a.Old.Met()})
	}
	if a.New != nil {
		r.Thresholds = append(r.Thresholds, thresholdReport{"resulting", a.New.Have, a.New.Need, a.New.Met()})
	}
	r.OwnerRequired, r.OwnerSigned = a.OwnerRequired, a.OwnerSigned
	r.SelfSignatures = selfSignReports(a)
	if verr != nil {
		ce := asCLIError(rejected("", verr))
		r.Result, r.Error = ce.code, ce.msg
		r.Why = whyEpoch(t, res.Update, membership.Code(ce.code))
		r.NextStep = nextStep(membership.Code(ce.code))
	}
	return r
}

// signerReports describes each signature entry. The engine checks entries
// in order and stops at the first bad one, so an entry it did not mark
// valid is the bad one (the first such) or was not checked. If it stopped
// before looking at signatures at all, the entries are still named from
// the current approver set.
func signerReports(res *membership.Result, verr error) []signerReport {
	out := []signerReport{}
	if len(res.Auth.Signers) == 0 {
		for _, s := range res.Update.Signatures {
			a, inPre := res.Pre.ApproverByKey(s.PublicKey)
			r := signerReport{ApproverID: a.ID, Role: string(a.Role), PublicKey: s.PublicKey.String(), Status: sigUnchecked}
			r.CountsOld = inPre && res.Update.Body.Operation.Type != membership.OpGenesis
			out = append(out, r)
		}
		return out
	}
	resulting := res.Auth.New != nil || res.Update.Body.Operation.Type.NeedsResultingSet()
	blamed := false
	for _, c := range res.Auth.Signers {
		r := signerReport{ApproverID: c.ID, Role: string(c.Role), PublicKey: c.Key.String(), CountsOld: c.InPre, CountsNew: c.InPost && resulting}
		switch {
		case c.Valid:
			r.Status = sigValid
		case blamed:
			r.Status = sigUnchecked
		case !c.InPre && !c.InPost:
			r.Status, blamed = sigUnknown, true
		case membership.CodeOf(verr) == membership.BadSignature:
			r.Status, blamed = sigInvalid, true
		default:
			r.Status = sigUnchecked
		}
		out = append(out, r)
	}
	return out
}

// selfSignReports lists the approvers that must sign their own addition.
func selfSignReports(a *membership.Authorization) []selfSignReport {
	out := []selfSignReport{}
	for _, id := range a.MustSign {
		signed := true
		for _, m := range a.Missing {
			signed = signed && m != id
		}
		out = append(out, selfSignReport{ApproverID: id, Signed: signed})
	}
	return out
}

// writeText prints the report for people.
func (r *verifyReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "file: %s\n", r.File)
	if r.GenesisRoot != "" {
		fmt.Fprintf(w, "genesis root: %s (%s)\n", r.GenesisRoot, pinnedWord(r.GenesisPinned))
	}
	r.updateInfo.writeText(w)
	r.writeSignatures(w)
	r.writeRules(w)
	if r.Error != "" {
		fmt.Fprintf(w, "result: %s: %s\n", r.Result, r.Error)
	} else {
		fmt.Fprintln(w, "result: ok")
	}
	if r.Why != "" {
		fmt.Fprintf(w, "why: %s\n", r.Why)
	}
	if r.NextStep != "" {
		fmt.Fprintf(w, "next step: %s\n", r.NextStep)
	}
}

// writeSignatures prints one line per signature entry.
func (r *verifyReport) writeSignatures(w io.Writer) {
	if len(r.Signatures) == 0 {
		fmt.Fprintln(w, "signatures: none")
		return
	}
	fmt.Fprintln(w, "signatures:")
	tw := newTable(w)
	for _, s := range r.Signatures {
		id, role := s.ApproverID, s.Role
		if id == "" {
			id, role = "?", "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\tcounts: %s\t%s\n", id, role, s.PublicKey, countsWord(s), statusWord(s.Status))
	}
	tw.Flush()
}

// writeRules prints the thresholds, the owner rule and self-signatures.
func (r *verifyReport) writeRules(w io.Writer) {
	if !r.Evaluated {
		fmt.Fprintln(w, "thresholds: not evaluated (verification stopped before counting signatures)")
		return
	}
	fmt.Fprintln(w, "thresholds:")
	tw := newTable(w)
	for _, t := range r.Thresholds {
		fmt.Fprintf(tw, "  %s approvers:\t%d of %d\t%s\n", t.Set, t.Have, t.Need, metWord(t.Met))
	}
	tw.Flush()
	if r.OwnerRequired {
		fmt.Fprintf(w, "owner signature: required, %s\n", presentWord(r.OwnerSigned))
	} else {
		fmt.Fprintln(w, "owner signature: not required")
	}
	for _, s := range r.SelfSignatures {
		fmt.Fprintf(w, "self-signature of %s: %s\n", s.ApproverID, presentWord(s.Signed))
	}
}

// statusWord is how the text report shows a signature entry's status.
func statusWord(status string) string {
	switch status {
	case sigInvalid:
		return "INVALID"
	case sigUnknown:
		return "UNKNOWN SIGNER"
	case sigUnchecked:
		return "not checked"
	}
	return status
}

// countsWord says which approver sets an entry counts toward.
func countsWord(s signerReport) string {
	switch {
	case s.CountsOld && s.CountsNew:
		return "current+resulting"
	case s.CountsOld:
		return "current"
	case s.CountsNew:
		return "resulting"
	}
	return "none"
}

func metWord(met bool) string {
	if met {
		return "met"
	}
	return "MISSING"
}

func presentWord(present bool) string {
	if present {
		return "present"
	}
	return "MISSING"
}

func pinnedWord(pinned bool) string {
	if pinned {
		return "pinned"
	}
	return "not pinned"
}
