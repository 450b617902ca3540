package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// reportView is the part of a verify-update --json report the tests check.
type reportView struct {
	Signatures []string // ID STATUS CURRENT RESULTING
	Evaluated  bool
	Thresholds []thresholdReport
	Owner      [2]bool // required, signed
	SelfSigned []selfSignReport
	Result     string
}

// verifyJSON runs verify-update --json on file and projects the report.
func verifyJSON(t *testing.T, file string) reportView {
	t.Helper()
	r := runCLI(t, "membership", "verify-update", "--json", "--from", "log.json", file)
	var rep verifyReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("verify-update --json: %v\nstdout: %s\nstderr: %s", err, r.stdout, r.stderr)
	}
	v := reportView{Evaluated: rep.Evaluated, Thresholds: rep.Thresholds, Owner: [2]bool{rep.OwnerRequired, rep.OwnerSigned},
		SelfSigned: rep.SelfSignatures, Result: rep.Result}
	for _, s := range rep.Signatures {
		v.Signatures = append(v.Signatures, s.ApproverID+" "+s.Status+" "+yesNo(s.CountsOld)+" "+yesNo(s.CountsNew))
	}
	return v
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// TestVerifyReport checks that verify-update explains what it found, for
// accepted updates and, as far as verification got, for rejected ones.
func TestVerifyReport(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, n *testNet) string
		want  reportView
	}{
		{"node change, enough signatures", func(t *testing.T, n *testNet) string {
			n.addNode(t, "alice", "bob")
			return "add.json"
		}, reportView{
			Signatures: []string{"alice valid yes no", "bob valid yes no"},
			Evaluated:  true, Thresholds: []thresholdReport{{"current", 2, 2, true}},
			SelfSigned: []selfSignReport{}, Result: "ok",
		}},
		{"node change, one signature", func(t *testing.T, n *testNet) string {
			n.addNode(t, "carol")
			return "add.json"
		}, reportView{
			Signatures: []string{"carol valid yes no"},
			Evaluated:  true, Thresholds: []thresholdReport{{"current", 1, 2, false}},
			SelfSigned: []selfSignReport{}, Result: "THRESHOLD_NOT_MET",
		}},
		{"approver added without an owner", func(t *testing.T, n *testNet) string {
			n.addDave(t, "bob", "carol", "dave")
			return "dave.json"
		}, reportView{
			Signatures: []string{"bob valid yes yes", "carol valid yes yes", "dave valid no yes"},
			Evaluated:  true, Thresholds: []thresholdReport{{"current", 2, 2, true}, {"resulting", 3, 2, true}},
			Owner: [2]bool{true, false}, SelfSigned: []selfSignReport{{"dave", true}}, Result: "OWNER_REQUIRED",
		}},
		{"approver added without its own signature", func(t *testing.T, n *testNet) string {
			n.addDave(t, "alice", "bob")
			return "dave.json"
		}, reportView{
			Signatures: []string{"alice valid yes yes", "bob valid yes yes"},
			Evaluated:  true, Thresholds: []thresholdReport{{"current", 2, 2, true}, {"resulting", 2, 2, true}},
			Owner: [2]bool{true, true}, SelfSigned: []selfSignReport{{"dave", false}}, Result: "NEW_APPROVER_MUST_SIGN",
		}},
		{"an outsider among the signers", func(t *testing.T, n *testNet) string {
			n.genKey(t, "approver", "mallory")
			n.addNode(t, "alice", "mallory", "bob")
			return "add.json"
		}, reportView{
			Signatures: []string{"alice valid yes no", " unknown_signer no no", "bob unchecked yes no"},
			Thresholds: []thresholdReport{}, SelfSigned: []selfSignReport{}, Result: "UNKNOWN_SIGNER",
		}},
		{"a forged body", func(t *testing.T, n *testNet) string {
			n.addNode(t, "alice", "bob")
			forgeExpiry(t, "add.json")
			return "add.json"
		}, reportView{
			Signatures: []string{"alice invalid yes no", "bob unchecked yes no"},
			Thresholds: []thresholdReport{}, SelfSigned: []selfSignReport{}, Result: "BAD_SIGNATURE",
		}},
		{"expired before signatures are looked at", func(t *testing.T, n *testNet) string {
			n.addNode(t, "alice", "bob")
			setClock(t, time.Now().Add(defaultExpiry+time.Hour))
			return "add.json"
		}, reportView{
			Signatures: []string{"alice unchecked yes no", "bob unchecked yes no"},
			Thresholds: []thresholdReport{}, SelfSigned: []selfSignReport{}, Result: "EXPIRED",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNet(t)
			file := tt.setup(t, n)
			if diff := cmp.Diff(tt.want, verifyJSON(t, file)); diff != "" {
				t.Errorf("report (-want +got):\n%s", diff)
			}
		})
	}
}
