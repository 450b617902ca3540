package membership_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// TestFastDecodingTakesEveryBody holds the fast paths of ParseBody and
// ParseSignedUpdate taking every golden update of the three schema
// versions, a fork resolution (whose sides are embedded update files) and
// a set_policy of 1,000 rules, to what encoding/json alone gives: a path
// that fell back every time would cost a second decoding and answer
// nothing faster. FuzzParseBody and FuzzParseSignedUpdate hold the two
// paths to the same answer on every input.
func TestFastDecodingTakesEveryBody(t *testing.T) {
	net := membershiptest.New(t, 4)
	big := net.Propose(t, membership.Operation{Type: membership.OpSetPolicy, Policy: membershiptest.MeshRules(1000, 0, membershiptest.NodeID)})
	updates := goldenUpdates(t, ".update.json")
	updates["resolve_fork"], updates["set_policy of 1,000 rules"] = resolutionSeed(t).Encode(), big.Encode()
	for name, data := range updates {
		fast, err := membership.ParseSignedUpdateFast(data)
		if err != nil {
			t.Errorf("%s: the fast path refused it: %v", name, err)
			continue
		}
		std, err := membership.ParseSignedUpdateStd(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(fast.BodyBytes(), std.BodyBytes()) || !slices.Equal(fast.Signatures, std.Signatures) {
			t.Errorf("%s: the two decodings differ", name)
		}
	}
	bodies := goldenUpdates(t, ".body")
	bodies["resolve_fork"], bodies["set_policy of 1,000 rules"] = resolutionSeed(t).BodyBytes(), big.BodyBytes()
	for name, raw := range bodies {
		fast, err := membership.ParseBodyFast(raw)
		if err != nil {
			t.Errorf("%s: the fast path refused it: %v", name, err)
			continue
		}
		std, err := membership.ParseBodyStd(raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(membership.EncodeBody(&fast), membership.EncodeBody(&std)) {
			t.Errorf("%s: the two decodings differ", name)
		}
	}
}
