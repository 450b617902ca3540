package membership_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
	"github.com/rustynet/rustynet/internal/evidence"
)

// The helpers below build updates the engine's own constructors refuse to
// build (illegal operations, forged roots, foreign signatures), always
// through the public wire format: the engine never sees anything an
// attacker could not send.

// docSigningContext and docSigningContextV2 are the signing context
// strings of docs/membership-encoding.md (§3, §13.5), spelled out here
// independently of the engine's constants.
const (
	docSigningContext   = "rustynet.membership.update.v1\x00"
	docSigningContextV2 = "rustynet.membership.update.v2\x00"
)

// docSigningMessage is the message approvers sign, computed from the doc:
// the context string of the body's schema_version, network id, one NUL
// byte, canonical body bytes.
func docSigningMessage(networkID string, body []byte) []byte {
	ctx := docSigningContext
	if docSchemaVersion(body) == "2" {
		ctx = docSigningContextV2
	}
	return docSigningMessageWith(ctx, networkID, body)
}

// docSigningMessageWith is the signing message under context string ctx.
func docSigningMessageWith(ctx, networkID string, body []byte) []byte {
	m := []byte(ctx + networkID + "\x00")
	return append(m, body...)
}

// docSchemaVersion returns the schema_version member of a body as its JSON
// text ("" if it has none), read without the engine.
func docSchemaVersion(body []byte) string {
	v, err := jcsDecode(body)
	if err != nil {
		return ""
	}
	m, _ := v.(map[string]any)
	n, _ := m["schema_version"].(json.Number)
	return string(n)
}

// wireSig is one signature entry in its file form (standard base64).
type wireSig struct {
	PublicKey string `json:"public_key"`
	Signature string `json:"signature"`
}

// envelope returns an update file holding body verbatim and sigs.
func envelope(body []byte, sigs ...wireSig) []byte {
	if sigs == nil {
		sigs = []wireSig{}
	}
	s, err := json.Marshal(sigs)
	if err != nil {
		panic(err)
	}
	return []byte(`{"body":` + string(body) + `,"signatures":` + string(s) + `}`)
}

// sigsOf returns u's signatures in file form.
func sigsOf(u *membership.SignedUpdate) []wireSig {
	var out []wireSig
	for _, s := range u.Signatures {
		out = append(out, wireSig{s.PublicKey.String(), base64.StdEncoding.EncodeToString(s.Sig[:])})
	}
	return out
}

// mustParse parses an update file and fails the test if it is refused.
func mustParse(tb testing.TB, data []byte) *membership.SignedUpdate {
	tb.Helper()
	u, err := membership.ParseSignedUpdate(data, nil)
	if err != nil {
		tb.Fatalf("parsing a forged update: got %v, want success", err)
	}
	return u
}

// forge returns the unsigned update whose body is exactly b.
func forge(tb testing.TB, b membership.Body) *membership.SignedUpdate {
	tb.Helper()
	return mustParse(tb, envelope(membership.EncodeBody(&b)))
}

// nextBody returns a body applying op to s, created at now and valid one
// hour, of the schema version SchemaFor gives, with new_state_root left
// zero: for operations the reducer must refuse before it compares roots.
func nextBody(s *membership.State, op membership.Operation, now time.Time) membership.Body {
	return membership.Body{
		SchemaVersion: membership.SchemaFor(s, &op),
		NetworkID:     s.NetworkID(),
		UpdateID:      [16]byte{0xf0, byte(s.Epoch())},
		Epoch:         s.Epoch() + 1,
		PrevStateRoot: s.Root(),
		CreatedAt:     now.Unix(),
		ExpiresAt:     now.Add(time.Hour).Unix(),
		Operation:     op,
	}
}

// withSigs returns a copy of u (same body bytes) with extra signature
// entries appended, going through the file form.
func withSigs(tb testing.TB, u *membership.SignedUpdate, extra ...wireSig) *membership.SignedUpdate {
	tb.Helper()
	return mustParse(tb, envelope(u.BodyBytes(), append(sigsOf(u), extra...)...))
}

// rawSign signs msg with a's key and returns the file-form entry.
func rawSign(a membershiptest.Approver, msg []byte) wireSig {
	return wireSig{a.PublicKey.String(), base64.StdEncoding.EncodeToString(ed25519.Sign(a.Private, msg))}
}

// transplant returns to's body carrying from's signatures: a body changed
// after it was signed.
func transplant(tb testing.TB, from, to *membership.SignedUpdate) *membership.SignedUpdate {
	tb.Helper()
	return mustParse(tb, envelope(to.BodyBytes(), sigsOf(from)...))
}

// wantCode fails the test unless err carries the code want (want "" means
// no error).
func wantCode(tb testing.TB, err error, want membership.Code) {
	tb.Helper()
	if want != "" {
		evidence.Case(tb, "", string(want), string(membership.CodeOf(err)))
	}
	if got := membership.CodeOf(err); got != want || (want == "" && err != nil) {
		tb.Fatalf("got error %v (code %q), want code %q", err, got, want)
	}
}

// wantReject applies u to net's chain, expects the code want (and, if why
// is not empty, a message containing it), and checks that nothing changed:
// same state, same root, update id not recorded, log not grown.
func wantReject(tb testing.TB, net *membershiptest.Network, u *membership.SignedUpdate, want membership.Code, why string) {
	tb.Helper()
	before, logLen := net.Chain.State(), len(net.Log)
	_, seenBefore := net.Chain.Seen(u.Body.UpdateID)
	res, err := net.Apply(u)
	evidence.Case(tb, "", string(want), string(membership.CodeOf(err)))
	if got := membership.CodeOf(err); got != want {
		tb.Fatalf("got %v (code %q), want code %s", err, got, want)
	}
	if why != "" && !strings.Contains(err.Error(), why) {
		tb.Errorf("got message %q, want it to mention %q", err, why)
	}
	if res != nil && res.Post != nil {
		tb.Errorf("got a post-state on a rejected update, want none")
	}
	if after := net.Chain.State(); after != before || after.Root() != before.Root() || after.Epoch() != before.Epoch() {
		tb.Errorf("state changed on rejection: got epoch %d root %s, want epoch %d root %s", after.Epoch(), after.Root(), before.Epoch(), before.Root())
	}
	if _, seen := net.Chain.Seen(u.Body.UpdateID); seen != seenBefore {
		tb.Errorf("rejected update id recorded as seen")
	}
	if len(net.Log) != logLen {
		tb.Errorf("log grew on rejection: got %d entries, want %d", len(net.Log), logLen)
	}
}

// approvers returns deterministic test approvers; the first is the owner.
func approvers(ids ...string) []membershiptest.Approver {
	as := make([]membershiptest.Approver, len(ids))
	for i, id := range ids {
		role := membership.RoleApprover
		if i == 0 {
			role = membership.RoleOwner
		}
		as[i] = membershiptest.NewApprover(id, role)
	}
	return as
}

// digest is SHA-256, for tests that hash independently of the engine.
func digest(parts ...[]byte) [32]byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return [32]byte(h.Sum(nil))
}
