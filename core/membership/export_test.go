package membership

import (
	"bytes"
	"crypto/sha256"
	"fmt"
)

// Test-only access to internals, for the external test package.

// ResetChain puts c back at state s and forgets update id, so a benchmark
// can apply the same update again and again.
func ResetChain(c *Chain, s *State, id [16]byte) {
	c.state = s
	delete(c.seen, id)
}

// RecomputeRoot recomputes the root of s from its records alone — every
// node leaf, both set digests and the header — ignoring the values the
// state caches. It must always equal s.Root().
func RecomputeRoot(s *State) Hash {
	var buf []byte
	h := sha256.New()
	h.Write([]byte(domainNodes))
	for n := range s.nodes.all {
		buf = encodeNode(n, buf)
		leaf := sha256.Sum256(buf)
		h.Write(leaf[:])
	}
	cp := *s
	cp.approversDigest = digestApprovers(s.approvers)
	cp.nodesDigest = Hash(h.Sum(nil))
	if s.policy != nil {
		cp.policyDigest = digestPolicy(EncodePolicy(s.policy))
	}
	if s.recovery != nil {
		b := &builder{s: &cp}
		b.setRecovery(s.recovery)
	}
	return cp.computeRoot()
}

// The parsers of a node that knows only schema version 1: this package's
// parsers with the version check of v1 (everything before it is the same in
// both versions), for TestV1VerifierRefusesV2.
var (
	ParseBodyV1Only         = func(raw []byte) (Body, error) { return parseBody(raw, nil, 1) }
	ParseSignedUpdateV1Only = func(data []byte) (*SignedUpdate, error) { return parseSignedUpdate(data, nil, 1) }
	ParseLogV1Only          = func(data []byte) ([]*SignedUpdate, error) { return parseLog(data, nil, 1) }
)

// The parsers of a node that knows schema versions 1 and 2, for
// TestV2VerifierRefusesV3.
var (
	ParseBodyV2Only         = func(raw []byte) (Body, error) { return parseBody(raw, nil, 2) }
	ParseSignedUpdateV2Only = func(data []byte) (*SignedUpdate, error) { return parseSignedUpdate(data, nil, 2) }
	ParseLogV2Only          = func(data []byte) ([]*SignedUpdate, error) { return parseLog(data, nil, 2) }
)

// ParseSignedUpdateV3Only is the parser of a node that knows schema
// versions 1 to 3, for TestV3VerifierRefusesResolution.
var ParseSignedUpdateV3Only = func(data []byte) (*SignedUpdate, error) { return parseSignedUpdate(data, nil, 3) }

// CheckBoundParts checks, for an update bound to its bytes, that what
// Evaluate takes from the bytes in place equals what encoding gives: the
// update digest (updateDigest) and a set_policy's policy (EncodePolicy).
func CheckBoundParts(u *SignedUpdate) error {
	lay, err := u.bound()
	if err != nil {
		return err
	}
	if got, want := u.boundDigest(lay), updateDigest(&u.Body); got != want {
		return fmt.Errorf("digest from the bytes %s, encoded %s", got, want)
	}
	got := u.boundPolicy(lay)
	if u.Body.Operation.Type != OpSetPolicy {
		if got != nil {
			return fmt.Errorf("a %s has policy bytes %q", u.Body.Operation.Type, got)
		}
		return nil
	}
	if want := EncodePolicy(u.Body.Operation.Policy); !bytes.Equal(got, want) {
		return fmt.Errorf("policy from the bytes %q, encoded %q", got, want)
	}
	return nil
}

// ParseBodyStd is ParseBody decoding with encoding/json alone, without
// the fast path.
func ParseBodyStd(raw []byte) (Body, error) { return parseBodyStd(raw, nil, SchemaVersion) }

// ParseBodyFast is ParseBody through the fast path alone: an error when
// ParseBody would answer by encoding/json.
func ParseBodyFast(raw []byte) (Body, error) { return parseBodyFast(raw, nil, SchemaVersion) }

// ParseSignedUpdateStd is ParseSignedUpdate decoding with encoding/json
// alone, without the fast path.
func ParseSignedUpdateStd(data []byte) (*SignedUpdate, error) {
	l := limitsOrDefault(nil)
	if err := checkUpdateFile(data, l); err != nil {
		return nil, err
	}
	return parseSignedUpdateStd(data, l, SchemaVersion)
}

// ParseSignedUpdateFast is ParseSignedUpdate through the fast path alone.
func ParseSignedUpdateFast(data []byte) (*SignedUpdate, error) {
	return parseSignedUpdateFast(data, limitsOrDefault(nil), SchemaVersion)
}

// SplitAsEncoded is splitAsEncoded, reporting the body it found and how
// many signatures.
func SplitAsEncoded(data []byte) (body []byte, signatures int, ok bool) {
	w, ok := splitAsEncoded(data)
	return w.Body, len(w.Signatures), ok
}
