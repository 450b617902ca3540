package membership_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rustynet/rustynet/core/membership"
)

// This file extends the independent model of golden_doc_test.go to schema
// version 2 (docs/membership-encoding.md §13) and checks the v2 golden
// vectors with it, calling the engine only to compare.

// Domain-separation strings of §13.5, copied from the doc.
const (
	docDomainStateRootV2    = "rustynet.membership.state-root.v2\x00"
	docDomainUpdateDigestV2 = "rustynet.membership.update-digest.v2\x00"
	docDomainPolicy         = "rustynet.membership.policy.v2\x00"
)

// policyDigest is §13.5's policy digest of the model's policy.
func (s *docState) policyDigest(tb testing.TB) string {
	tb.Helper()
	c, err := jcsAppend([]byte(docDomainPolicy), s.policy)
	if err != nil {
		tb.Fatal(err)
	}
	d := digest(c)
	return hex.EncodeToString(d[:])
}

// rootV2 is the root of a state with a policy (§13.5).
func (s *docState) rootV2(tb testing.TB) string {
	tb.Helper()
	header := map[string]any{
		"approvers_digest":   setDigest(tb, docDomainApprovers, s.approvers),
		"epoch":              num(s.epoch),
		"last_update_digest": s.lastDigest,
		"network_id":         s.networkID,
		"node_count":         num(uint64(len(s.nodes))),
		"nodes_digest":       setDigest(tb, docDomainNodes, s.nodes),
		"policy_digest":      s.policyDigest(tb),
		"schema_version":     num(2),
		"threshold":          num(s.threshold),
	}
	c, err := jcsAppend([]byte(docDomainStateRootV2), header)
	if err != nil {
		tb.Fatal(err)
	}
	d := digest(c)
	return hex.EncodeToString(d[:])
}

// docUpdateDigest is the update digest of a decoded body under the domain
// of its schema_version (§4, §13.5).
func docUpdateDigest(tb testing.TB, b map[string]any) string {
	tb.Helper()
	domain := docDomainUpdateDigest
	if b["schema_version"] == json.Number("2") {
		domain = docDomainUpdateDigestV2
	}
	noRoot := clone(b)
	delete(noRoot, "new_state_root")
	c, err := jcsAppend([]byte(domain), noRoot)
	if err != nil {
		tb.Fatal(err)
	}
	d := digest(c)
	return hex.EncodeToString(d[:])
}

// docCheckStep checks one golden record against the model, applies it,
// and returns the new root: canonical body, the doc's signing message and
// signatures, update digest, state root and policy digest.
func docCheckStep(t *testing.T, model *docState, body []byte, st goldenStepRecV2, pubByID map[string]string, prevRoot string) string {
	t.Helper()
	if c, err := jcs(body); err != nil || !bytes.Equal(c, body) {
		t.Fatalf("body is not RFC 8785 canonical: jcs error %v", err)
	}
	if sum := digest(body); hex.EncodeToString(sum[:]) != st.BodySHA256 {
		t.Errorf("body_sha256: got %x, want %s", sum, st.BodySHA256)
	}
	v, _ := jcsDecode(body)
	b := v.(map[string]any)
	if b["prev_state_root"] != prevRoot {
		t.Errorf("prev_state_root: got %v, want the previous root %s", b["prev_state_root"], prevRoot)
	}
	if b["update_id"] != st.UpdateID {
		t.Errorf("update_id: got %v, want %s", b["update_id"], st.UpdateID)
	}
	msg := docSigningMessageWith(docSigningContextV2, b["network_id"].(string), body)
	if b["schema_version"] != json.Number("2") {
		t.Errorf("schema_version: got %v, want 2", b["schema_version"])
	}
	if sum := digest(msg); hex.EncodeToString(sum[:]) != st.SigningMessageSHA256 {
		t.Errorf("signing_message_sha256: got %x, want %s", sum, st.SigningMessageSHA256)
	}
	if len(st.Signatures) != len(st.Signers) {
		t.Fatalf("got %d signatures, want one per signer %v", len(st.Signatures), st.Signers)
	}
	for j, s := range st.Signatures {
		if s.PublicKey != pubByID[st.Signers[j]] {
			t.Errorf("signature %d: got key %s, want %s's", j, s.PublicKey, st.Signers[j])
		}
		pub, _ := base64.StdEncoding.DecodeString(s.PublicKey)
		sig, _ := base64.StdEncoding.DecodeString(s.Signature)
		if !ed25519.Verify(pub, msg, sig) {
			t.Errorf("signature %d by %s does not verify over the doc's v2 signing message", j, st.Signers[j])
		}
		if ed25519.Verify(pub, docSigningMessageWith(docSigningContext, b["network_id"].(string), body), sig) {
			t.Errorf("signature %d by %s verifies under the v1 context string too", j, st.Signers[j])
		}
	}
	d := docUpdateDigest(t, b)
	if d != st.UpdateDigest {
		t.Errorf("update digest: got %s, want %s", d, st.UpdateDigest)
	}
	model.apply(t, b, d)
	if model.policy == nil {
		t.Fatalf("the model has no policy after a v2 record")
	}
	if got := model.policyDigest(t); got != st.PolicyDigest {
		t.Errorf("policy digest: got %s, want %s", got, st.PolicyDigest)
	}
	root := model.root(t)
	if root != st.StateRoot || root != b["new_state_root"] {
		t.Errorf("state root: doc model gives %s, vectors.json says %s, body says %v", root, st.StateRoot, b["new_state_root"])
	}
	return root
}

// TestGoldenV2Independent checks every v2 golden vector with the doc
// model: the v2 chain from its genesis, and the upgrade of the v1 golden
// log by a set_policy; then that the engine replays both to the same roots.
func TestGoldenV2Independent(t *testing.T) {
	dir := filepath.Join("testdata", "golden-v2")
	var keys goldenKeys
	readJSON(t, filepath.Join(dir, "keys.json"), &keys)
	pubByID := map[string]string{}
	for _, k := range keys.Approvers {
		seed, _ := hex.DecodeString(k.Seed)
		if got := base64.StdEncoding.EncodeToString(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)); got != k.PublicKey {
			t.Errorf("approver %s: public key from seed: got %s, want %s", k.ID, got, k.PublicKey)
		}
		pubByID[k.ID] = k.PublicKey
	}
	var vec goldenVectorsV2
	readJSON(t, filepath.Join(dir, "vectors.json"), &vec)
	var logFile []struct {
		Body       json.RawMessage `json:"body"`
		Signatures []wireSig       `json:"signatures"`
	}
	readJSON(t, filepath.Join(dir, "log.json"), &logFile)
	if len(logFile) != len(vec.Steps) {
		t.Fatalf("log.json: got %d entries, want %d", len(logFile), len(vec.Steps))
	}

	model := newDocState(vec.NetworkID)
	prevRoot := model.root(t) // no policy yet: the v1 formula (§13.5)
	if prevRoot != vec.EmptyRoot {
		t.Errorf("empty root: doc model gives %s, vectors.json says %s", prevRoot, vec.EmptyRoot)
	}
	ops := map[string]bool{}
	for i, st := range vec.Steps {
		t.Run(st.Name, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join(dir, st.BodyFile))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(logFile[i].Body, body) || !slices.Equal(logFile[i].Signatures, st.Signatures) {
				t.Errorf("log entry %d differs from %s and vectors.json", i+1, st.BodyFile)
			}
			ops[st.Operation] = true
			prevRoot = docCheckStep(t, model, body, st, pubByID, prevRoot)
		})
	}
	for _, op := range []string{"genesis", "set_policy"} {
		if !ops[op] {
			t.Errorf("v2 golden chain has no %s update", op)
		}
	}

	// The genesis policy uses every context, selector kind and port-spec
	// form of §13.3, so the vectors pin every spelling.
	g, _ := os.ReadFile(filepath.Join(dir, "01-genesis.body"))
	for _, form := range []string{`"context":"mesh"`, `"context":"router"`, `"context":"exit"`, `"members"`, `"internet"`,
		`"node:`, `"tag:`, `"10.20.0.0/16"`, `"fd7a:115c:a1e0:20::/64"`, `"any"`, `"icmp"`, `"tcp"`, `"udp"`, `"tcp/5432"`, `"tcp/6379-6380"`, `"udp/161-162"`} {
		if !strings.Contains(string(g), form) {
			t.Errorf("the v2 genesis policy has no %s", form)
		}
	}

	// The upgrade: the v1 golden log in the model (v1 digests and roots),
	// then one set_policy (v2).
	var v1 []struct {
		Body json.RawMessage `json:"body"`
	}
	readJSON(t, filepath.Join("testdata", "golden", "log.json"), &v1)
	up := newDocState(goldenNetwork)
	upRoot := up.root(t)
	for _, e := range v1 {
		v, _ := jcsDecode(e.Body)
		b := v.(map[string]any)
		up.apply(t, b, docUpdateDigest(t, b))
		upRoot = up.root(t)
		if upRoot != b["new_state_root"] {
			t.Fatalf("v1 golden log: the doc model gives root %s, the body says %v", upRoot, b["new_state_root"])
		}
	}
	t.Run(vec.Upgrade.Name, func(t *testing.T) {
		body, err := os.ReadFile(filepath.Join(dir, vec.Upgrade.BodyFile))
		if err != nil {
			t.Fatal(err)
		}
		docCheckStep(t, up, body, vec.Upgrade, pubByID, upRoot)
	})

	// The engine agrees.
	data, err := os.ReadFile(filepath.Join(dir, "log.json"))
	if err != nil {
		t.Fatal(err)
	}
	log, err := membership.ParseLog(data, nil)
	if err != nil {
		t.Fatalf("ParseLog(log.json): %v", err)
	}
	c, n, err := membership.Replay(log, membership.Hash{}, nil)
	if err != nil {
		t.Fatalf("Replay(log.json): got error %v after %d entries", err, n)
	}
	if got := c.State().Root().String(); got != prevRoot {
		t.Errorf("replayed root: got %s, want %s", got, prevRoot)
	}
	v1data, err := os.ReadFile(filepath.Join("testdata", "golden", "log.json"))
	if err != nil {
		t.Fatal(err)
	}
	v1log, err := membership.ParseLog(v1data, nil)
	if err != nil {
		t.Fatal(err)
	}
	upFile, err := os.ReadFile(filepath.Join(dir, vec.Upgrade.Name+".update.json"))
	if err != nil {
		t.Fatal(err)
	}
	u, err := membership.ParseSignedUpdate(upFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, n, err = membership.Replay(append(v1log, u), membership.Hash{}, nil)
	if err != nil {
		t.Fatalf("Replay(v1 log + upgrade): got error %v after %d entries", err, n)
	}
	if got := c.State().Root().String(); got != vec.Upgrade.StateRoot {
		t.Errorf("upgraded root: got %s, want %s", got, vec.Upgrade.StateRoot)
	}
}

// TestV1VerifierRefusesV2: a node that knows only schema version 1 — this
// package's parsers with v1's version check, which is all that differs
// before it — refuses every v2 golden record, update file and log with
// UNKNOWN_SCHEMA (§13.9), and still accepts every v1 one.
func TestV1VerifierRefusesV2(t *testing.T) {
	for _, dir := range goldenDirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		want := membership.Code("")
		if filepath.Base(dir) != "golden" {
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
				_, got = membership.ParseBodyV1Only(data)
			case strings.HasSuffix(name, ".update.json"):
				_, got = membership.ParseSignedUpdateV1Only(data)
			case name == "log.json":
				_, got = membership.ParseLogV1Only(data)
			default:
				continue
			}
			if membership.CodeOf(got) != want {
				t.Errorf("%s/%s: a v1 verifier got %v, want code %q", filepath.Base(dir), name, got, want)
			}
		}
	}
	// A v1 log followed by the v2 upgrade: the v1 node stops at the entry.
	v1log, _ := os.ReadFile(filepath.Join("testdata", "golden", "log.json"))
	up, _ := os.ReadFile(filepath.Join("testdata", "golden-v2", "upgrade-set_policy.update.json"))
	mixed := append(bytes.TrimSuffix(bytes.TrimSpace(v1log), []byte("]")), []byte(",\n"+string(up)+"]")...)
	_, err := membership.ParseLogV1Only(mixed)
	if membership.CodeOf(err) != membership.UnknownSchema || !strings.Contains(err.Error(), "log entry 11") {
		t.Errorf("v1 log + upgrade on a v1 verifier: got %v, want UNKNOWN_SCHEMA at log entry 11", err)
	}
	if _, err := membership.ParseLog(mixed, nil); err != nil {
		t.Errorf("v1 log + upgrade on a v2 verifier: got %v, want success", err)
	}
}
