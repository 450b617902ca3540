package membership_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// The schema-2 golden vectors (docs/membership-encoding.md §13.10): a chain
// that starts with a v2 genesis, and the upgrade of the v1 golden chain by
// one set_policy. They are generated, compared and rewritten with the v1
// vectors by TestGolden (goldenFiles).

// goldenNetworkV2 is the network id of the v2 golden chain.
const goldenNetworkV2 = "golden-net-v2"

// goldenUpdateIDV2 is the update id of v2 golden step name: the first 16
// bytes of SHA-256("rustynet-golden-update:v2-" + name).
func goldenUpdateIDV2(name string) []byte {
	s := sha256.Sum256([]byte("rustynet-golden-update:v2-" + name))
	return s[:16]
}

func sel(s string) membership.Selector {
	x, err := membership.ParseSelector(s)
	if err != nil {
		panic(err)
	}
	return x
}

func sels(ss ...string) []membership.Selector {
	out := make([]membership.Selector, len(ss))
	for i, s := range ss {
		out[i] = sel(s)
	}
	return out
}

func portSpecs(ss ...string) []membership.PortSpec {
	out := make([]membership.PortSpec, len(ss))
	for i, s := range ss {
		p, err := membership.ParsePortSpec(s)
		if err != nil {
			panic(err)
		}
		out[i] = p
	}
	return out
}

// rule builds a rule from spellings.
func rule(name string, ctx membership.Context, src, dst, ports []string) membership.Rule {
	return membership.Rule{Name: name, Context: ctx, Src: sels(src...), Dst: sels(dst...), Ports: portSpecs(ports...)}
}

// goldenPolicies are the policies of the v2 golden chain: the genesis's
// uses every selector kind, every context and every port-spec form.
func goldenPolicies() (genesis, second *membership.Policy) {
	mesh, router, exit := membership.ContextMesh, membership.ContextRouter, membership.ContextExit
	genesis = &membership.Policy{Rules: []membership.Rule{
		rule("allow-members", mesh, []string{"members"}, []string{"members"}, []string{"any"}),
		rule("db-access", mesh, []string{"node:laptop.ann", "tag:admin"}, []string{"tag:db"}, []string{"tcp/5432", "tcp/6379-6380"}),
		rule("exit.web", exit, []string{"members"}, []string{"internet"}, []string{"tcp/443", "udp/53"}),
		rule("exit.lab", exit, []string{"node:gw-1"}, []string{"198.51.100.0/24", "2001:db8:1::/48"}, []string{"icmp", "udp"}),
		rule("lan", router, []string{"tag:admin"}, []string{"10.20.0.0/16", "fd7a:115c:a1e0:20::/64"}, []string{"icmp", "tcp", "udp/161-162"}),
	}}
	genesis.Normalize()
	second = &membership.Policy{Rules: []membership.Rule{
		rule("db-access", mesh, []string{"tag:admin"}, []string{"tag:db"}, []string{"tcp/5432"}),
		rule("exit.web", exit, []string{"members"}, []string{"internet"}, []string{"tcp/443", "udp/53"}),
		rule("lan", router, []string{"tag:admin"}, []string{"10.20.0.0/16"}, []string{"icmp", "tcp"}),
		rule("ping", mesh, []string{"members"}, []string{"members"}, []string{"icmp"}),
	}}
	second.Normalize()
	return genesis, second
}

// goldenChainV2 builds the v2 golden chain: a v2 genesis, then set_policy,
// v2 records of v1 operations, and a set_policy that denies everything.
func goldenChainV2(tb testing.TB) []goldenStep {
	tb.Helper()
	keys := map[string]membershiptest.Approver{}
	for _, a := range goldenApproverIDs {
		keys[a.id] = membershiptest.NewApprover(a.id, a.role)
	}
	chain := membership.NewChain(goldenNetworkV2)
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
		return membership.Proposal{CreatedAt: at(len(steps)), Validity: time.Hour, Rand: bytes.NewReader(goldenUpdateIDV2(name))}
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
	nodes := []membership.Node{
		{
			ID:        "laptop.ann",
			PublicKey: goldenNodeKey(tb, "laptop.ann"),
			Addresses: []netip.Prefix{pfx("100.64.0.2/32")},
			Tags:      []string{"admin"},
			Owner:     "ann@example.com",
		},
		{
			ID:        "gw-1",
			PublicKey: goldenNodeKey(tb, "gw-1"),
			Addresses: []netip.Prefix{pfx("100.64.0.1/32"), pfx("fd7a:115c:a1e0::1/128")},
			Endpoints: []netip.AddrPort{ap("198.51.100.7:51820")},
			Tags:      []string{"exit", "router"},
			Routes:    []netip.Prefix{pfx("10.20.0.0/16"), pfx("fd7a:115c:a1e0:20::/64")},
			Owner:     "ops",
		},
	}
	p1, p2 := goldenPolicies()
	g, err := membership.NewGenesis(goldenNetworkV2, 2, as, nodes, p1, proposal("01-genesis"))
	if err != nil {
		tb.Fatalf("genesis: %v", err)
	}
	apply("01-genesis", g, "alice", "bob", "carol")
	propose("02-set_policy", membership.Operation{Type: membership.OpSetPolicy, Policy: p2}, "alice", "bob")
	propose("03-add_node", membership.Operation{Type: membership.OpAddNode, Node: membership.Node{
		ID:        "srv-db_01",
		PublicKey: goldenNodeKey(tb, "srv-db_01"),
		Addresses: []netip.Prefix{pfx("100.64.0.3/32")},
		Endpoints: []netip.AddrPort{},
		Tags:      []string{"db"},
		Routes:    []netip.Prefix{},
		Owner:     "db team",
		Status:    membership.StatusActive,
	}}, "bob", "carol")
	propose("04-revoke_node", membership.Operation{Type: membership.OpRevokeNode, NodeID: "laptop.ann"}, "alice", "carol")
	propose("05-set_threshold", membership.Operation{Type: membership.OpSetThreshold, Threshold: 3}, "alice", "bob", "carol")
	propose("06-set_policy", membership.Operation{Type: membership.OpSetPolicy, Policy: &membership.Policy{Rules: []membership.Rule{}}}, "alice", "bob", "carol")
	return steps
}

// goldenUpgrade appends to the v1 golden chain the set_policy that gives
// it a policy (DefaultPolicy): the step from a v1 state to a v2 state.
func goldenUpgrade(tb testing.TB, v1 []goldenStep) goldenStep {
	tb.Helper()
	pre := v1[len(v1)-1].Post
	name := "upgrade-set_policy"
	p := membership.Proposal{CreatedAt: membershiptest.Epoch0.Add(time.Duration(len(v1)) * time.Minute), Validity: time.Hour,
		Rand: bytes.NewReader(goldenUpdateID(name))}
	u, err := membership.NewUpdate(pre, membership.Operation{Type: membership.OpSetPolicy, Policy: membership.DefaultPolicy()}, p)
	if err != nil {
		tb.Fatalf("%s: propose: %v", name, err)
	}
	signers := []string{"alice", "bob", "dave"}
	for _, id := range signers {
		if err := u.Sign(membershiptest.NewApprover(id, "").Private); err != nil {
			tb.Fatal(err)
		}
	}
	res, err := membership.Evaluate(pre, u, membership.Options{Now: time.Unix(u.Body.CreatedAt, 0)})
	if err != nil {
		tb.Fatalf("%s: apply: %v", name, err)
	}
	return goldenStep{Name: name, Signers: signers, Update: u, Post: res.Post}
}

// goldenVectorsV2 is testdata/golden-v2/vectors.json.
type goldenVectorsV2 struct {
	Note      string            `json:"note"`
	NetworkID string            `json:"network_id"`
	EmptyRoot string            `json:"empty_state_root"`
	Steps     []goldenStepRecV2 `json:"steps"`
	// Upgrade is the set_policy that follows the last entry of the v1
	// golden log (testdata/golden/log.json).
	Upgrade goldenStepRecV2 `json:"upgrade"`
}

type goldenStepRecV2 struct {
	goldenStepRec
	PolicyDigest string `json:"policy_digest"`
}

// goldenFilesV2 adds the v2 golden files and fuzz seeds to files.
func goldenFilesV2(tb testing.TB, files map[string][]byte, v1 []goldenStep) {
	tb.Helper()
	golden := func(name string) string { return filepath.Join("testdata", "golden-v2", name) }
	var keys goldenKeys
	keys.Note = "The keys of the v1 golden vectors (../golden/keys.json), repeated. Never use these keys for anything else."
	for _, a := range goldenApproverIDs {
		k := membershiptest.NewApprover(a.id, a.role)
		keys.Approvers = append(keys.Approvers, goldenApproverKey{a.id, string(a.role), hex.EncodeToString(k.Private.Seed()), k.PublicKey.String()})
	}
	for _, name := range []string{"gw-1", "gw-1#2", "laptop.ann", "srv-db_01"} {
		keys.NodeKeys = append(keys.NodeKeys, goldenNodeKeyRec{name, hex.EncodeToString(goldenNodeSeed(name)), goldenNodeKey(tb, name).String()})
	}
	files[golden("keys.json")] = marshalGolden(tb, keys)

	rec := func(s goldenStep) goldenStepRecV2 {
		u := s.Update
		body := u.BodyBytes()
		msg := sha256.Sum256(docSigningMessage(u.Body.NetworkID, body))
		bodySum := sha256.Sum256(body)
		r := goldenStepRecV2{goldenStepRec: goldenStepRec{
			Name:                 s.Name,
			Operation:            string(u.Body.Operation.Type),
			Epoch:                u.Body.Epoch,
			UpdateID:             hex.EncodeToString(u.Body.UpdateID[:]),
			BodyFile:             s.Name + ".body",
			BodySHA256:           hex.EncodeToString(bodySum[:]),
			SigningMessageSHA256: hex.EncodeToString(msg[:]),
			Signers:              s.Signers,
			Signatures:           sigsOf(u),
			UpdateDigest:         s.Post.LastUpdateDigest().String(),
			StateRoot:            s.Post.Root().String(),
		}}
		if d, ok := s.Post.PolicyDigest(); ok {
			r.PolicyDigest = d.String()
		}
		files[golden(s.Name+".body")] = body
		files[golden(s.Name+".update.json")] = u.Encode()
		files[fuzzSeed("FuzzParseBody", "v2-"+s.Name)] = fuzzCorpusFile(body)
		files[fuzzSeed("FuzzParseSignedUpdate", "v2-"+s.Name)] = fuzzCorpusFile(u.Encode())
		files[fuzzSeed("FuzzEvaluate", "v2-"+s.Name)] = fuzzCorpusFile(u.Encode())
		if p := u.Body.Operation.Policy; p != nil {
			files[fuzzSeed("FuzzParsePolicy", "v2-"+s.Name)] = fuzzCorpusFile(membership.EncodePolicy(p))
		}
		return r
	}

	steps := goldenChainV2(tb)
	var vec goldenVectorsV2
	vec.Note = "Golden vectors of the v2 membership encoding (docs/membership-encoding.md §13). Each step's body_file holds the exact canonical body bytes; NN-*.update.json the update file; log.json the portable log of all steps; upgrade-set_policy.* the set_policy appended to the v1 golden log (../golden/log.json). Regenerate only with `go test -run Golden -update ./core/membership`."
	vec.NetworkID = goldenNetworkV2
	vec.EmptyRoot = membership.Empty(goldenNetworkV2).Root().String()
	var log []*membership.SignedUpdate
	for _, s := range steps {
		vec.Steps = append(vec.Steps, rec(s))
		log = append(log, s.Update)
	}
	vec.Upgrade = rec(goldenUpgrade(tb, v1))
	files[golden("vectors.json")] = marshalGolden(tb, vec)
	files[golden("log.json")] = membership.EncodeLog(log)
	files[fuzzSeed("FuzzParseLog", "v2-log")] = fuzzCorpusFile(membership.EncodeLog(log))
}
