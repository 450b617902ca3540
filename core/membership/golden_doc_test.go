package membership_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/rustynet/rustynet/core/membership"
)

// This file re-implements the v1 format from docs/membership-encoding.md
// alone — signing message, update digest, state root, and the effect of
// every operation on the state — and checks the committed golden files
// with it. It calls the engine only to compare. If it passes, the doc is
// precise enough to reproduce the vectors.

// Domain-separation strings, copied from the doc.
const (
	docDomainStateRoot    = "rustynet.membership.state-root.v1\x00"
	docDomainNodes        = "rustynet.membership.nodes.v1\x00"
	docDomainApprovers    = "rustynet.membership.approvers.v1\x00"
	docDomainUpdateDigest = "rustynet.membership.update-digest.v1\x00"
)

// docState is the state of the doc's model: the records exactly as they
// appear in update bodies, decoded generically.
type docState struct {
	networkID  string
	epoch      uint64
	lastDigest string // hex; 64 zeroes before genesis
	threshold  uint64
	approvers  map[string]map[string]any // by approver_id
	nodes      map[string]map[string]any // by node_id
	policy     map[string]any            // the policy object (§13.3); nil for none
}

func newDocState(networkID string) *docState {
	return &docState{networkID: networkID, lastDigest: hex.EncodeToString(make([]byte, 32)),
		approvers: map[string]map[string]any{}, nodes: map[string]map[string]any{}}
}

// setDigest is SHA-256(domain ‖ leaf_1 ‖ … ‖ leaf_n) with leaf_i =
// SHA-256(canonical record i), records in ascending byte order of id.
func setDigest(tb testing.TB, domain string, records map[string]map[string]any) string {
	tb.Helper()
	ids := make([]string, 0, len(records))
	for id := range records {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	parts := [][]byte{[]byte(domain)}
	for _, id := range ids {
		c, err := jcsAppend(nil, records[id])
		if err != nil {
			tb.Fatal(err)
		}
		leaf := digest(c)
		parts = append(parts, leaf[:])
	}
	d := digest(parts...)
	return hex.EncodeToString(d[:])
}

func num(v uint64) json.Number { return json.Number(strconv.FormatUint(v, 10)) }

// root computes the state root by the doc's formula: §5 without a policy,
// §13.5 with one.
func (s *docState) root(tb testing.TB) string {
	tb.Helper()
	if s.policy != nil {
		return s.rootV2(tb)
	}
	header := map[string]any{
		"approvers_digest":   setDigest(tb, docDomainApprovers, s.approvers),
		"epoch":              num(s.epoch),
		"last_update_digest": s.lastDigest,
		"network_id":         s.networkID,
		"node_count":         num(uint64(len(s.nodes))),
		"nodes_digest":       setDigest(tb, docDomainNodes, s.nodes),
		"schema_version":     num(1),
		"threshold":          num(s.threshold),
	}
	c, err := jcsAppend([]byte(docDomainStateRoot), header)
	if err != nil {
		tb.Fatal(err)
	}
	d := digest(c)
	return hex.EncodeToString(d[:])
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func asUint(tb testing.TB, v any) uint64 {
	tb.Helper()
	var n uint64
	if err := json.Unmarshal([]byte(v.(json.Number)), &n); err != nil {
		tb.Fatal(err)
	}
	return n
}

// apply applies a decoded body (legality is the engine's business; the
// golden chain is legal) and records its digest.
func (s *docState) apply(tb testing.TB, body map[string]any, digestHex string) {
	tb.Helper()
	op := body["operation"].(map[string]any)
	switch op["type"] {
	case "genesis":
		for _, a := range op["approvers"].([]any) {
			a := a.(map[string]any)
			s.approvers[a["approver_id"].(string)] = a
		}
		for _, n := range op["nodes"].([]any) {
			n := n.(map[string]any)
			s.nodes[n["node_id"].(string)] = n
		}
		s.threshold = asUint(tb, op["threshold"])
		if p, ok := op["policy"]; ok {
			s.policy = p.(map[string]any)
		}
	case "add_node":
		n := op["node"].(map[string]any)
		s.nodes[n["node_id"].(string)] = n
	case "remove_node":
		delete(s.nodes, op["node_id"].(string))
	case "revoke_node", "restore_node":
		n := clone(s.nodes[op["node_id"].(string)])
		n["status"] = map[string]string{"revoke_node": "revoked", "restore_node": "active"}[op["type"].(string)]
		s.nodes[op["node_id"].(string)] = n
	case "rotate_node_key":
		n := clone(s.nodes[op["node_id"].(string)])
		n["public_key"] = op["public_key"]
		s.nodes[op["node_id"].(string)] = n
	case "update_node":
		n := clone(s.nodes[op["node_id"].(string)])
		for _, k := range []string{"addresses", "endpoints", "tags", "routes"} {
			n[k] = op[k]
		}
		s.nodes[op["node_id"].(string)] = n
	case "add_approver":
		a := op["approver"].(map[string]any)
		s.approvers[a["approver_id"].(string)] = a
	case "remove_approver":
		delete(s.approvers, op["approver_id"].(string))
	case "set_threshold":
		s.threshold = asUint(tb, op["threshold"])
	case "set_policy":
		s.policy = op["policy"].(map[string]any)
	default:
		tb.Fatalf("unknown operation %v", op["type"])
	}
	s.epoch++
	s.lastDigest = digestHex
}

func readJSON(tb testing.TB, path string, v any) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return b
}

// TestGoldenEmptyRoot hand-computes the root of the empty state from the
// doc and compares it with the engine and the committed vector.
func TestGoldenEmptyRoot(t *testing.T) {
	var vec goldenVectors
	readJSON(t, filepath.Join("testdata", "golden", "vectors.json"), &vec)
	for _, network := range []string{goldenNetwork, "test", "a"} {
		zero := hex.EncodeToString(make([]byte, 32))
		approversDigest := digest([]byte(docDomainApprovers))
		nodesDigest := digest([]byte(docDomainNodes))
		// Spelled out by hand: the canonical header of the empty state.
		header := `{"approvers_digest":"` + hex.EncodeToString(approversDigest[:]) +
			`","epoch":0,"last_update_digest":"` + zero +
			`","network_id":"` + network +
			`","node_count":0,"nodes_digest":"` + hex.EncodeToString(nodesDigest[:]) +
			`","schema_version":1,"threshold":0}`
		want := digest([]byte(docDomainStateRoot + header))
		if got := membership.Empty(network).Root(); got != want {
			t.Errorf("Empty(%q).Root(): got %s, want %x", network, got, want)
		}
		if got := newDocState(network).root(t); got != hex.EncodeToString(want[:]) {
			t.Errorf("doc model empty root of %q: got %s, want %x", network, got, want)
		}
		if network == goldenNetwork && vec.EmptyRoot != hex.EncodeToString(want[:]) {
			t.Errorf("vectors.json empty_state_root: got %s, want %x", vec.EmptyRoot, want)
		}
	}
}

// TestGoldenIndependent checks every committed golden vector with the doc
// model: keys from seeds, canonical form, signing message and Ed25519
// signatures, update digests, state roots and root chaining, and the log
// file.
func TestGoldenIndependent(t *testing.T) {
	dir := filepath.Join("testdata", "golden")
	var keys goldenKeys
	readJSON(t, filepath.Join(dir, "keys.json"), &keys)
	var vec goldenVectors
	readJSON(t, filepath.Join(dir, "vectors.json"), &vec)

	pubByID := map[string]string{}
	for _, k := range keys.Approvers {
		seed, err := hex.DecodeString(k.Seed)
		if err != nil {
			t.Fatal(err)
		}
		pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
		if got := base64.StdEncoding.EncodeToString(pub); got != k.PublicKey {
			t.Errorf("approver %s: public key from seed: got %s, want %s", k.ID, got, k.PublicKey)
		}
		pubByID[k.ID] = k.PublicKey
	}
	for _, k := range keys.NodeKeys {
		seed, err := hex.DecodeString(k.Seed)
		if err != nil {
			t.Fatal(err)
		}
		priv, err := ecdh.X25519().NewPrivateKey(seed)
		if err != nil {
			t.Fatal(err)
		}
		if got := base64.StdEncoding.EncodeToString(priv.PublicKey().Bytes()); got != k.PublicKey {
			t.Errorf("node key %s: public key from private key: got %s, want %s", k.Name, got, k.PublicKey)
		}
	}

	var logFile []struct {
		Body       json.RawMessage `json:"body"`
		Signatures []wireSig       `json:"signatures"`
	}
	readJSON(t, filepath.Join(dir, "log.json"), &logFile)
	if len(logFile) != len(vec.Steps) {
		t.Fatalf("log.json: got %d entries, want %d", len(logFile), len(vec.Steps))
	}

	model := newDocState(vec.NetworkID)
	prevRoot := vec.EmptyRoot
	ops := map[string]bool{}
	for i, st := range vec.Steps {
		t.Run(st.Name, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join(dir, st.BodyFile))
			if err != nil {
				t.Fatal(err)
			}
			if c, err := jcs(body); err != nil || !bytes.Equal(c, body) {
				t.Fatalf("body is not RFC 8785 canonical: jcs error %v\n got %s\nwant %s", err, body, c)
			}
			if sum := digest(body); hex.EncodeToString(sum[:]) != st.BodySHA256 {
				t.Errorf("body_sha256: got %x, want %s", sum, st.BodySHA256)
			}
			v, _ := jcsDecode(body)
			b := v.(map[string]any)
			if b["schema_version"] != json.Number("1") || b["kind"] != "rustynet.membership.update" || b["network_id"] != vec.NetworkID {
				t.Errorf("header fields: got schema_version %v kind %v network_id %v", b["schema_version"], b["kind"], b["network_id"])
			}
			if got := asUint(t, b["epoch"]); got != uint64(i+1) || got != st.Epoch {
				t.Errorf("epoch: got %d, want %d", got, i+1)
			}
			if b["prev_state_root"] != prevRoot {
				t.Errorf("prev_state_root: got %v, want the previous root %s", b["prev_state_root"], prevRoot)
			}
			if b["update_id"] != st.UpdateID {
				t.Errorf("update_id: got %v, want %s", b["update_id"], st.UpdateID)
			}
			ops[b["operation"].(map[string]any)["type"].(string)] = true

			// Signatures: over the doc's signing message, by the listed signers.
			msg := docSigningMessage(vec.NetworkID, body)
			if sum := digest(msg); hex.EncodeToString(sum[:]) != st.SigningMessageSHA256 {
				t.Errorf("signing_message_sha256: got %x, want %s", sum, st.SigningMessageSHA256)
			}
			if len(st.Signatures) != len(st.Signers) {
				t.Fatalf("got %d signatures, want one per signer %v", len(st.Signatures), st.Signers)
			}
			for j, s := range st.Signatures {
				if s.PublicKey != pubByID[st.Signers[j]] {
					t.Errorf("signature %d: got key %s, want %s's %s", j, s.PublicKey, st.Signers[j], pubByID[st.Signers[j]])
				}
				pub, _ := base64.StdEncoding.DecodeString(s.PublicKey)
				sig, _ := base64.StdEncoding.DecodeString(s.Signature)
				if !ed25519.Verify(pub, msg, sig) {
					t.Errorf("signature %d by %s does not verify over the doc's signing message", j, st.Signers[j])
				}
			}

			// The update file and the log entry carry the same body and signatures.
			var file struct {
				Body       json.RawMessage `json:"body"`
				Signatures []wireSig       `json:"signatures"`
			}
			readJSON(t, filepath.Join(dir, st.Name+".update.json"), &file)
			if !bytes.Equal(file.Body, body) || !bytes.Equal(logFile[i].Body, body) {
				t.Errorf("update file or log entry body differs from %s", st.BodyFile)
			}
			if !slices.Equal(file.Signatures, st.Signatures) || !slices.Equal(logFile[i].Signatures, st.Signatures) {
				t.Errorf("update file or log entry signatures differ from vectors.json")
			}

			// Update digest: the body without new_state_root, canonical, with its domain.
			noRoot := clone(b)
			delete(noRoot, "new_state_root")
			c, err := jcsAppend([]byte(docDomainUpdateDigest), noRoot)
			if err != nil {
				t.Fatal(err)
			}
			d := digest(c)
			if got := hex.EncodeToString(d[:]); got != st.UpdateDigest {
				t.Errorf("update digest: got %s, want %s", got, st.UpdateDigest)
			}

			// State root: the doc model applied to the body.
			model.apply(t, b, hex.EncodeToString(d[:]))
			root := model.root(t)
			if root != st.StateRoot || root != b["new_state_root"] {
				t.Errorf("state root: doc model gives %s, vectors.json says %s, body says %v", root, st.StateRoot, b["new_state_root"])
			}
			prevRoot = root
		})
	}
	for _, op := range []membership.OpType{membership.OpGenesis, membership.OpAddNode, membership.OpRemoveNode,
		membership.OpRevokeNode, membership.OpRestoreNode, membership.OpRotateNodeKey, membership.OpUpdateNode,
		membership.OpAddApprover, membership.OpRemoveApprover, membership.OpSetThreshold} {
		if !ops[string(op)] {
			t.Errorf("golden chain has no %s update", op)
		}
	}

	// The engine agrees: replaying log.json reaches the last root.
	data, err := os.ReadFile(filepath.Join(dir, "log.json"))
	if err != nil {
		t.Fatal(err)
	}
	log, err := membership.ParseLog(data, nil)
	if err != nil {
		t.Fatalf("ParseLog(log.json): %v", err)
	}
	genesisRoot, _ := membership.ParseHash(vec.Steps[0].StateRoot)
	c, n, err := membership.Replay(log, genesisRoot, nil)
	if err != nil {
		t.Fatalf("Replay(log.json): got error %v after %d entries", err, n)
	}
	if got := c.State().Root().String(); got != prevRoot {
		t.Errorf("replayed root: got %s, want %s", got, prevRoot)
	}
}
