package membership_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// updateGolden rewrites the golden vectors and the fuzz seed corpus from
// the fixed inputs below:
//
//	go test -run Golden -update ./core/membership
//
// Review the diff before committing it: any change to a golden file is a
// change of the format (docs/membership-encoding.md), frozen for v1, and
// must come with a schema_version bump; adding vectors of a new version
// leaves every existing file as it was.
var updateGolden = flag.Bool("update", false, "rewrite testdata/golden and the golden fuzz seeds")

// goldenNetwork is the network id of the golden chain.
const goldenNetwork = "golden-net"

// goldenApproverIDs are the approvers the golden chain uses, with roles.
var goldenApproverIDs = []struct {
	id   string
	role membership.Role
}{
	{"alice", membership.RoleOwner},
	{"bob", membership.RoleApprover},
	{"carol", membership.RoleApprover},
	{"dave", membership.RoleApprover},
}

// goldenNodeSeed is the X25519 private key of a golden node key: the
// SHA-256 of "rustynet-golden-node:" + name.
func goldenNodeSeed(name string) []byte {
	s := sha256.Sum256([]byte("rustynet-golden-node:" + name))
	return s[:]
}

// goldenNodeKey is the X25519 public key of goldenNodeSeed(name).
func goldenNodeKey(tb testing.TB, name string) membership.NodeKey {
	priv, err := ecdh.X25519().NewPrivateKey(goldenNodeSeed(name))
	if err != nil {
		tb.Fatal(err)
	}
	return membership.NodeKey(priv.PublicKey().Bytes())
}

// goldenUpdateID is the update id of golden step name: the first 16 bytes
// of SHA-256("rustynet-golden-update:" + name).
func goldenUpdateID(name string) []byte {
	s := sha256.Sum256([]byte("rustynet-golden-update:" + name))
	return s[:16]
}

// goldenStep is one update of the golden chain.
type goldenStep struct {
	Name    string // file stem, "01-genesis"
	Signers []string
	Update  *membership.SignedUpdate
	Post    *membership.State
}

// goldenChain builds the golden chain: a genesis and one update of every
// other operation type, chained, each created one minute after the last
// and valid for one hour, signed by fixed approvers, and applied.
func goldenChain(tb testing.TB) []goldenStep {
	tb.Helper()
	keys := map[string]membershiptest.Approver{}
	for _, a := range goldenApproverIDs {
		keys[a.id] = membershiptest.NewApprover(a.id, a.role)
	}
	chain := membership.NewChain(goldenNetwork)
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
		return membership.Proposal{CreatedAt: at(len(steps)), Validity: time.Hour, Rand: bytes.NewReader(goldenUpdateID(name))}
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
			Owner:     "ann@example.com",
		},
		{
			ID:        "gw-1",
			PublicKey: goldenNodeKey(tb, "gw-1"),
			Addresses: []netip.Prefix{pfx("fd7a:115c:a1e0::1/128"), pfx("100.64.0.1/32")},
			Endpoints: []netip.AddrPort{ap("[2001:db8::7]:51820"), ap("198.51.100.7:51820")},
			Tags:      []string{"router", "exit"},
			Routes:    []netip.Prefix{pfx("::/0"), pfx("10.20.0.0/16"), pfx("0.0.0.0/0")},
			Owner:     `Ops "blue" team \ NOC`,
		},
	}
	g, err := membership.NewGenesis(goldenNetwork, 2, as, nodes, nil, proposal("01-genesis"))
	if err != nil {
		tb.Fatalf("genesis: %v", err)
	}
	apply("01-genesis", g, "alice", "bob", "carol")

	propose("02-add_node", membership.Operation{Type: membership.OpAddNode, Node: membership.Node{
		ID:        "srv-db_01",
		PublicKey: goldenNodeKey(tb, "srv-db_01"),
		Addresses: []netip.Prefix{pfx("100.64.0.3/32"), pfx("fd7a:115c:a1e0::3/128")},
		Endpoints: []netip.AddrPort{},
		Tags:      []string{"db"},
		Routes:    []netip.Prefix{},
		Owner:     `C:\srv\db "primary"`,
		Status:    membership.StatusActive,
	}}, "alice", "bob")
	propose("03-revoke_node", membership.Operation{Type: membership.OpRevokeNode, NodeID: "laptop.ann"}, "bob", "carol")
	propose("04-restore_node", membership.Operation{Type: membership.OpRestoreNode, NodeID: "laptop.ann"}, "alice", "carol")
	propose("05-rotate_node_key", membership.Operation{Type: membership.OpRotateNodeKey, NodeID: "gw-1", PublicKey: goldenNodeKey(tb, "gw-1#2")}, "alice", "bob")
	propose("06-update_node", membership.Operation{Type: membership.OpUpdateNode, NodeID: "srv-db_01",
		Addresses: []netip.Prefix{pfx("100.64.0.3/32")},
		Endpoints: []netip.AddrPort{ap("203.0.113.9:41641")},
		Tags:      []string{"db", "router"},
		Routes:    []netip.Prefix{pfx("192.168.10.0/24")},
	}, "bob", "carol")
	propose("07-add_approver", membership.Operation{Type: membership.OpAddApprover, Approver: keys["dave"].Approver}, "alice", "bob", "dave")
	propose("08-set_threshold", membership.Operation{Type: membership.OpSetThreshold, Threshold: 3}, "alice", "bob", "carol")
	propose("09-remove_approver", membership.Operation{Type: membership.OpRemoveApprover, ApproverID: "carol"}, "alice", "bob", "dave", "carol")
	propose("10-remove_node", membership.Operation{Type: membership.OpRemoveNode, NodeID: "srv-db_01"}, "alice", "bob", "dave")
	return steps
}

// Golden file schemas (testdata/golden/keys.json and vectors.json).
type goldenKeys struct {
	Note      string              `json:"note"`
	Approvers []goldenApproverKey `json:"approvers"`
	NodeKeys  []goldenNodeKeyRec  `json:"node_keys"`
}

type goldenApproverKey struct {
	ID        string `json:"id"`
	Role      string `json:"role"`
	Seed      string `json:"ed25519_seed_hex"`
	PublicKey string `json:"public_key"`
}

type goldenNodeKeyRec struct {
	Name      string `json:"name"`
	Seed      string `json:"x25519_private_key_hex"`
	PublicKey string `json:"public_key"`
}

type goldenVectors struct {
	Note      string          `json:"note"`
	NetworkID string          `json:"network_id"`
	EmptyRoot string          `json:"empty_state_root"`
	Steps     []goldenStepRec `json:"steps"`
}

type goldenStepRec struct {
	Name                 string    `json:"name"`
	Operation            string    `json:"operation"`
	Epoch                uint64    `json:"epoch"`
	UpdateID             string    `json:"update_id"`
	BodyFile             string    `json:"body_file"`
	BodySHA256           string    `json:"body_sha256"`
	SigningMessageSHA256 string    `json:"signing_message_sha256"`
	Signers              []string  `json:"signers"`
	Signatures           []wireSig `json:"signatures"`
	UpdateDigest         string    `json:"update_digest"`
	StateRoot            string    `json:"state_root"`
}

// goldenFiles renders every golden file and golden fuzz seed, by path
// relative to the package directory.
func goldenFiles(tb testing.TB) map[string][]byte {
	tb.Helper()
	steps := goldenChain(tb)
	files := map[string][]byte{}
	golden := func(name string) string { return filepath.Join("testdata", "golden", name) }

	var keys goldenKeys
	keys.Note = "Fixed test keys of the golden vectors. Approver keys: Ed25519 seed = SHA-256(\"rustynet-test-approver:\" + id). Node keys: X25519 private key = SHA-256(\"rustynet-golden-node:\" + name). Public keys in standard base64. Never use these keys for anything else."
	for _, a := range goldenApproverIDs {
		k := membershiptest.NewApprover(a.id, a.role)
		keys.Approvers = append(keys.Approvers, goldenApproverKey{a.id, string(a.role), hex.EncodeToString(k.Private.Seed()), k.PublicKey.String()})
	}
	for _, name := range []string{"gw-1", "gw-1#2", "laptop.ann", "srv-db_01"} {
		keys.NodeKeys = append(keys.NodeKeys, goldenNodeKeyRec{name, hex.EncodeToString(goldenNodeSeed(name)), goldenNodeKey(tb, name).String()})
	}
	files[golden("keys.json")] = marshalGolden(tb, keys)

	var vec goldenVectors
	vec.Note = "Golden vectors of the v1 membership encoding (docs/membership-encoding.md). Each step's body_file holds the exact canonical body bytes; NN-*.update.json the update file; log.json the portable log of all steps. Regenerate only with `go test -run Golden -update ./core/membership`."
	vec.NetworkID = goldenNetwork
	vec.EmptyRoot = membership.Empty(goldenNetwork).Root().String()
	var log []*membership.SignedUpdate
	for _, s := range steps {
		u := s.Update
		body := u.BodyBytes()
		msg := sha256.Sum256(docSigningMessage(goldenNetwork, body))
		bodySum := sha256.Sum256(body)
		st := goldenStepRec{
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
		}
		vec.Steps = append(vec.Steps, st)
		files[golden(s.Name+".body")] = body
		files[golden(s.Name+".update.json")] = u.Encode()
		log = append(log, u)

		files[fuzzSeed("FuzzParseBody", s.Name)] = fuzzCorpusFile(body)
		files[fuzzSeed("FuzzParseSignedUpdate", s.Name)] = fuzzCorpusFile(u.Encode())
		files[fuzzSeed("FuzzEvaluate", s.Name)] = fuzzCorpusFile(u.Encode())
	}
	files[golden("vectors.json")] = marshalGolden(tb, vec)
	files[golden("log.json")] = membership.EncodeLog(log)
	files[fuzzSeed("FuzzParseLog", "log")] = fuzzCorpusFile(membership.EncodeLog(log))
	files[fuzzSeed("FuzzParseLog", "log-prefix")] = fuzzCorpusFile(membership.EncodeLog(log[:3]))
	goldenFilesV2(tb, files, steps)
	goldenFilesV3(tb, files)
	return files
}

func fuzzSeed(target, name string) string {
	return filepath.Join("testdata", "fuzz", target, "golden-"+name)
}

// fuzzCorpusFile renders one []byte input in the Go fuzzing corpus format.
func fuzzCorpusFile(b []byte) []byte {
	return fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b)
}

func marshalGolden(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	return append(b, '\n')
}

// goldenDirs hold the golden vectors: v1 (§12), v2 (§13.10) and v3 (§14.7).
var goldenDirs = []string{filepath.Join("testdata", "golden"), filepath.Join("testdata", "golden-v2"), filepath.Join("testdata", "golden-v3")}

// TestGolden regenerates every golden vector from the fixed inputs and
// fails if any byte differs from the committed files (or, with -update,
// rewrites them). A golden file that is no longer generated fails too.
func TestGolden(t *testing.T) {
	files := goldenFiles(t)
	if *updateGolden {
		stale, err := filepath.Glob(filepath.Join("testdata", "fuzz", "*", "golden-*"))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range stale {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}
		for _, dir := range goldenDirs {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
		}
		for path, data := range files {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("rewrote %d golden files", len(files))
		return
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		got, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("%s: %v (run go test -run Golden -update to create it)", p, err)
			continue
		}
		if want := files[p]; !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the engine now produces:\n got (committed) %q\nwant (generated) %q", p, truncate(got), truncate(want))
		}
	}
	for _, dir := range goldenDirs {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && files[p] == nil {
				t.Errorf("%s: committed golden file is no longer generated", p)
			}
			return err
		})
		if err != nil {
			t.Error(err)
		}
	}
	seeds, err := filepath.Glob(filepath.Join("testdata", "fuzz", "*", "golden-*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range seeds {
		if files[p] == nil {
			t.Errorf("%s: committed golden fuzz seed is no longer generated", p)
		}
	}
}

func truncate(b []byte) []byte {
	if len(b) > 400 {
		return append(b[:400:400], "…"...)
	}
	return b
}
