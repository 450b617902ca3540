package membership_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// The schema-3 golden vectors (docs/membership-encoding.md §14.7): a chain
// that starts with a v3 genesis declaring a recovery set, rotates it, and
// recovers from lost approver keys. Generated, compared and rewritten with
// the other vectors by TestGolden (goldenFiles).

const goldenNetworkV3 = "golden-net-v3"

// goldenRecoveryIDs are the recovery keys of the v3 golden chain, made as
// the approver keys are (membershiptest.NewApprover).
var goldenRecoveryIDs = []string{"rk-1", "rk-2", "rk-3", "rk-4"}

func goldenUpdateIDV3(name string) []byte {
	s := sha256.Sum256([]byte("rustynet-golden-update:v3-" + name))
	return s[:16]
}

func goldenRecovery(threshold uint64, ids ...string) *membership.Recovery {
	r := &membership.Recovery{Threshold: threshold}
	for _, id := range ids {
		r.Keys = append(r.Keys, membershiptest.NewApprover(id, "").PublicKey)
	}
	return membership.NewRecovery(r)
}

func goldenChainV3(tb testing.TB) []goldenStep {
	tb.Helper()
	keys := map[string]membershiptest.Approver{}
	for _, a := range goldenApproverIDs {
		keys[a.id] = membershiptest.NewApprover(a.id, a.role)
	}
	for _, id := range append([]string{"erin", "frank"}, goldenRecoveryIDs...) {
		keys[id] = membershiptest.NewApprover(id, "")
	}
	chain := membership.NewChain(goldenNetworkV3)
	var steps []goldenStep
	at := func(i int) time.Time { return membershiptest.Epoch0.Add(time.Duration(i) * time.Minute) }
	apply := func(name string, u *membership.SignedUpdate, signers ...string) {
		for _, id := range signers {
			if err := u.Sign(keys[id].Private); err != nil {
				tb.Fatalf("%s: sign by %s: %v", name, id, err)
			}
		}
		res, err := chain.Apply(u, membership.Options{Now: time.Unix(u.Body.CreatedAt, 0)})
		if err != nil {
			tb.Fatalf("%s: apply: %v", name, err)
		}
		steps = append(steps, goldenStep{Name: name, Signers: signers, Update: u, Post: res.Post})
	}
	proposal := func(name string) membership.Proposal {
		return membership.Proposal{CreatedAt: at(len(steps)), Validity: time.Hour, Rand: bytes.NewReader(goldenUpdateIDV3(name))}
	}
	propose := func(name string, op membership.Operation, signers ...string) {
		u, err := membership.NewUpdate(chain.State(), op, proposal(name))
		if err != nil {
			tb.Fatalf("%s: propose: %v", name, err)
		}
		apply(name, u, signers...)
	}

	var as []membership.Approver
	for _, a := range goldenApproverIDs[:3] {
		as = append(as, keys[a.id].Approver)
	}
	nodes := []membership.Node{{ID: "gw-1", PublicKey: goldenNodeKey(tb, "gw-1"), Addresses: []netip.Prefix{pfx("100.64.0.1/32")}, Owner: "ops"}}
	g, err := membership.NewGenesisWithRecovery(goldenNetworkV3, 2, as, nodes, membership.DefaultPolicy(), goldenRecovery(2, "rk-1", "rk-2", "rk-3"), proposal("01-genesis"))
	if err != nil {
		tb.Fatalf("genesis: %v", err)
	}
	apply("01-genesis", g, "alice", "bob", "carol", "rk-1", "rk-2", "rk-3")
	propose("02-set_recovery", membership.Operation{Type: membership.OpSetRecovery, Recovery: goldenRecovery(2, "rk-1", "rk-2", "rk-4")}, "alice", "bob", "rk-4")
	erin, frank := keys["erin"].Approver, keys["frank"].Approver
	erin.Role, frank.Role = membership.RoleOwner, membership.RoleApprover
	propose("03-recover", membership.Operation{Type: membership.OpRecover, Threshold: 2, Approvers: membership.NewApproverSet([]membership.Approver{erin, frank})},
		"rk-2", "rk-4", "erin", "frank")
	propose("04-add_node", membership.Operation{Type: membership.OpAddNode, Node: membership.Node{
		ID: "srv-db_01", PublicKey: goldenNodeKey(tb, "srv-db_01"), Addresses: []netip.Prefix{pfx("100.64.0.3/32")},
		Endpoints: []netip.AddrPort{}, Tags: []string{}, Routes: []netip.Prefix{}, Status: membership.StatusActive}}, "erin", "frank")
	return steps
}

// goldenStepRecV3 is one step of testdata/golden-v3/vectors.json.
type goldenStepRecV3 struct {
	goldenStepRec
	PolicyDigest string `json:"policy_digest"`
	Recovery     string `json:"recovery_canonical"`
}

// goldenFilesV3 adds the v3 golden files and fuzz seeds to files.
func goldenFilesV3(tb testing.TB, files map[string][]byte) {
	tb.Helper()
	golden := func(name string) string { return filepath.Join("testdata", "golden-v3", name) }
	var keys goldenKeys
	keys.Note = "The approver keys of the v1 golden vectors, and further keys made the same way (Ed25519 seed = SHA-256(\"rustynet-test-approver:\" + id)): erin and frank, the approvers after the recovery, and rk-1 to rk-4, the recovery keys. Never use these keys for anything else."
	for _, a := range goldenApproverIDs {
		k := membershiptest.NewApprover(a.id, a.role)
		keys.Approvers = append(keys.Approvers, goldenApproverKey{a.id, string(a.role), hex.EncodeToString(k.Private.Seed()), k.PublicKey.String()})
	}
	for _, id := range append([]string{"erin", "frank"}, goldenRecoveryIDs...) {
		k := membershiptest.NewApprover(id, "")
		keys.Approvers = append(keys.Approvers, goldenApproverKey{id, "", hex.EncodeToString(k.Private.Seed()), k.PublicKey.String()})
	}
	for _, name := range []string{"gw-1", "srv-db_01"} {
		keys.NodeKeys = append(keys.NodeKeys, goldenNodeKeyRec{name, hex.EncodeToString(goldenNodeSeed(name)), goldenNodeKey(tb, name).String()})
	}
	files[golden("keys.json")] = marshalGolden(tb, keys)

	var vec struct {
		Note      string            `json:"note"`
		NetworkID string            `json:"network_id"`
		EmptyRoot string            `json:"empty_state_root"`
		Steps     []goldenStepRecV3 `json:"steps"`
	}
	vec.Note = "Golden vectors of the v3 membership encoding (docs/membership-encoding.md §14): a genesis with a recovery set, set_recovery, recover, and an update of the recovered approvers. Each step's body_file holds the exact canonical body bytes; NN-*.update.json the update file; log.json the portable log of all steps. Regenerate only with `go test -run Golden -update ./core/membership`."
	vec.NetworkID = goldenNetworkV3
	vec.EmptyRoot = membership.Empty(goldenNetworkV3).Root().String()
	var log []*membership.SignedUpdate
	for _, s := range goldenChainV3(tb) {
		u := s.Update
		body := u.BodyBytes()
		msg := sha256.Sum256(docSigningMessage(u.Body.NetworkID, body))
		bodySum := sha256.Sum256(body)
		r := goldenStepRecV3{goldenStepRec: goldenStepRec{
			Name: s.Name, Operation: string(u.Body.Operation.Type), Epoch: u.Body.Epoch,
			UpdateID: hex.EncodeToString(u.Body.UpdateID[:]), BodyFile: s.Name + ".body",
			BodySHA256: hex.EncodeToString(bodySum[:]), SigningMessageSHA256: hex.EncodeToString(msg[:]),
			Signers: s.Signers, Signatures: sigsOf(u), UpdateDigest: s.Post.LastUpdateDigest().String(), StateRoot: s.Post.Root().String(),
		}, Recovery: string(membership.EncodeRecovery(s.Post.Recovery()))}
		if d, ok := s.Post.PolicyDigest(); ok {
			r.PolicyDigest = d.String()
		}
		vec.Steps = append(vec.Steps, r)
		files[golden(s.Name+".body")] = body
		files[golden(s.Name+".update.json")] = u.Encode()
		files[fuzzSeed("FuzzParseBody", "v3-"+s.Name)] = fuzzCorpusFile(body)
		files[fuzzSeed("FuzzParseSignedUpdate", "v3-"+s.Name)] = fuzzCorpusFile(u.Encode())
		files[fuzzSeed("FuzzEvaluate", "v3-"+s.Name)] = fuzzCorpusFile(u.Encode())
		log = append(log, u)
	}
	files[golden("vectors.json")] = marshalGolden(tb, vec)
	files[golden("log.json")] = membership.EncodeLog(log)
	files[fuzzSeed("FuzzParseLog", "v3-log")] = fuzzCorpusFile(membership.EncodeLog(log))
}

// TestGoldenV3ReplaysAndVerifies: the v3 golden log replays from its
// genesis, and the recovered approvers are in force at its end.
func TestGoldenV3ReplaysAndVerifies(t *testing.T) {
	steps := goldenChainV3(t)
	var log []*membership.SignedUpdate
	for _, s := range steps {
		log = append(log, s.Update)
	}
	chain, _, err := membership.Replay(log, log[0].Body.NewStateRoot, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := chain.State()
	if st.SchemaVersion() != 3 || st.Approvers()[0].ID != "erin" || st.Recovery() == nil || len(st.Recovery().Keys) != 3 {
		t.Fatalf("end state: schema %d approvers %v recovery %v", st.SchemaVersion(), st.Approvers(), st.Recovery())
	}
}

// TestV2VerifierRefusesV3: a node that knows schema versions 1 and 2
// refuses every v3 golden record, update file and log with UNKNOWN_SCHEMA
// (§14.6) and still accepts every v1 and v2 one.
func TestV2VerifierRefusesV3(t *testing.T) {
	for _, dir := range goldenDirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		want := membership.Code("")
		if filepath.Base(dir) == "golden-v3" {
			want = membership.UnknownSchema
		}
		for _, e := range entries {
			name := e.Name()
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			var got error
			switch {
			case strings.HasSuffix(name, ".body"):
				_, got = membership.ParseBodyV2Only(data)
			case strings.HasSuffix(name, ".update.json"):
				_, got = membership.ParseSignedUpdateV2Only(data)
			case name == "log.json":
				_, got = membership.ParseLogV2Only(data)
			default:
				continue
			}
			if membership.CodeOf(got) != want {
				t.Errorf("%s/%s: a v2 verifier got %v, want code %q", filepath.Base(dir), name, got, want)
			}
		}
	}
}
