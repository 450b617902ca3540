package membership_test

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// Fuzz targets. Their seed corpora live in testdata/fuzz/<target>/; the
// golden-* seeds are the golden records, regenerated with the golden
// vectors (go test -run Golden -update). Run one with e.g.
//
//	go test -run XXX -fuzz FuzzEvaluate -fuzztime 30s ./core/membership

// fuzzNow is a clock at which every golden update is valid.
var fuzzNow = time.Date(2026, 1, 1, 0, 30, 0, 0, time.UTC)

// checkCoded fails unless a refusal carries a stable code.
func checkCoded(t *testing.T, err error) {
	t.Helper()
	if err != nil && membership.CodeOf(err) == "" {
		t.Fatalf("error without a stable code: %v", err)
	}
}

// checkCanonical fails unless b is an RFC 8785 fixed point.
func checkCanonical(t *testing.T, b []byte) {
	t.Helper()
	c, err := jcs(b)
	if err != nil || !bytes.Equal(c, b) {
		t.Fatalf("accepted a body that is not RFC 8785 canonical (jcs error %v):\n got %q\nwant %q", err, b, c)
	}
}

func FuzzParseBody(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Add(resolutionSeed(f).BodyBytes())
	f.Add([]byte(`{"schema_version":1,"kind":"rustynet.membership.update"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := membership.ParseBody(data, nil)
		checkCoded(t, err)
		// The fast decoding changes no answer: the same error, or the
		// same body, as encoding/json alone.
		std, stdErr := membership.ParseBodyStd(data)
		if fmt.Sprint(err) != fmt.Sprint(stdErr) {
			t.Fatalf("ParseBody: %v; with encoding/json alone: %v", err, stdErr)
		}
		if err != nil {
			return
		}
		if !bytes.Equal(membership.EncodeBody(&std), data) {
			t.Fatalf("encoding/json alone decoded another body")
		}
		if again := membership.EncodeBody(&b); !bytes.Equal(again, data) {
			t.Fatalf("accepted body is not its own encoding:\n got %q\nwant %q", again, data)
		}
		checkCanonical(t, data)
	})
}

func FuzzParseSignedUpdate(f *testing.F) {
	f.Add([]byte(`{"body":{},"signatures":[]}`))
	f.Add(resolutionSeed(f).Encode())
	f.Add(bytes.TrimSuffix(resolutionSeed(f).Encode(), []byte("\n"))) // as a ledger entry holds it
	f.Fuzz(func(t *testing.T, data []byte) {
		u, err := membership.ParseSignedUpdate(data, nil)
		checkCoded(t, err)
		// The fast decoding changes no answer: the same error, or the
		// same update, as encoding/json alone.
		std, stdErr := membership.ParseSignedUpdateStd(data)
		if fmt.Sprint(err) != fmt.Sprint(stdErr) {
			t.Fatalf("ParseSignedUpdate: %v; with encoding/json alone: %v", err, stdErr)
		}
		if err != nil {
			return
		}
		if !bytes.Equal(std.BodyBytes(), u.BodyBytes()) || !slices.Equal(std.Signatures, u.Signatures) {
			t.Fatalf("encoding/json alone decoded another update")
		}
		checkCanonical(t, u.BodyBytes())
		if err := membership.CheckBoundParts(u); err != nil {
			t.Fatal(err)
		}
		if len(u.Signatures) > membership.DefaultLimits().MaxApprovers+1 {
			t.Fatalf("accepted %d signatures", len(u.Signatures))
		}
		v, err := membership.ParseSignedUpdate(u.Encode(), nil)
		if err != nil {
			t.Fatalf("re-parsing the encoding of an accepted update: %v", err)
		}
		if !bytes.Equal(v.BodyBytes(), u.BodyBytes()) || len(v.Signatures) != len(u.Signatures) {
			t.Fatalf("encode/parse round trip changed the update")
		}
		for i := range u.Signatures {
			if v.Signatures[i] != u.Signatures[i] {
				t.Fatalf("round trip changed signature %d", i)
			}
		}
	})
}

// FuzzParsePolicy: whatever the policy parser accepts is a valid policy
// that re-encodes to the same bytes.
func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte(`{"rules":[]}`))
	f.Add(membership.EncodePolicy(membership.DefaultPolicy()))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := membership.ParsePolicy(data, nil)
		checkCoded(t, err)
		if err != nil {
			return
		}
		if again := membership.EncodePolicy(p); !bytes.Equal(again, data) {
			t.Fatalf("accepted policy is not its own encoding:\n got %q\nwant %q", again, data)
		}
		checkCanonical(t, data)
		if err := membership.ValidatePolicy(p, nil); err != nil {
			t.Fatalf("accepted policy is not valid: %v", err)
		}
		c := p.Clone()
		c.Normalize()
		if !bytes.Equal(membership.EncodePolicy(c), data) {
			t.Fatalf("Normalize changed an accepted (canonical) policy")
		}
	})
}

// FuzzParseLog checks the log file parser alone: replaying is
// FuzzEvaluate's business (with History), and its signature checks would
// make the fuzzer's minimisation of large log inputs crawl.
func FuzzParseLog(f *testing.F) {
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"body":{},"signatures":[]}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		log, err := membership.ParseLog(data, nil)
		checkCoded(t, err)
		for _, u := range log {
			if err != nil {
				t.Fatalf("ParseLog returned entries with an error")
			}
			if !bytes.Equal(membership.EncodeBody(&u.Body), u.BodyBytes()) {
				t.Fatalf("accepted entry is not its own encoding: %q", u.BodyBytes())
			}
			checkCanonical(t, u.BodyBytes())
		}
	})
}

func FuzzEvaluate(f *testing.F) {
	// The golden chains by network: v1, v2, and the v1 chain upgraded.
	chains := map[string][]*membership.State{}
	for _, ch := range [][]goldenStep{goldenChain(f), goldenChainV2(f)} {
		states := []*membership.State{membership.Empty(ch[0].Update.Body.NetworkID)}
		for _, s := range ch {
			states = append(states, s.Post)
		}
		chains[ch[0].Update.Body.NetworkID] = states
	}
	v1 := chains[goldenNetwork]
	chains[goldenNetwork] = append(v1, goldenUpgrade(f, goldenChain(f)).Post)
	f.Fuzz(func(t *testing.T, data []byte) {
		u, err := membership.ParseSignedUpdate(data, nil)
		if err != nil {
			return
		}
		states := chains[u.Body.NetworkID]
		if states == nil {
			states = chains[goldenNetwork]
		}
		// Evaluate against the state the update claims to follow (the best
		// chance of acceptance) and against the latest state.
		pres := []*membership.State{states[len(states)-1]}
		if e := u.Body.Epoch; e >= 1 && e < uint64(len(states)) {
			pres = append(pres, states[e-1])
		}
		for _, pre := range pres {
			for _, opt := range []membership.Options{{Now: fuzzNow}, {History: true}} {
				res, err := membership.Evaluate(pre, u, opt)
				checkCoded(t, err)
				if err != nil {
					if res != nil && res.Post != nil {
						t.Fatalf("refused update with a post-state: %v", err)
					}
					continue
				}
				checkAuthorized(t, pre, u, &opt)
				// The record's version is the post-state's (§13.2): a policy,
				// once there, stays, and only v2 records carry or keep one.
				if u.Body.SchemaVersion != res.Post.SchemaVersion() || res.Post.SchemaVersion() < pre.SchemaVersion() {
					t.Fatalf("accepted a schema %d record from a schema %d state to a schema %d state", u.Body.SchemaVersion, pre.SchemaVersion(), res.Post.SchemaVersion())
				}
				if res.Post == nil || res.Post.Root() != u.Body.NewStateRoot || res.Post.Epoch() != pre.Epoch()+1 {
					t.Fatalf("accepted update: post-state does not match the body's claims")
				}
				// Acceptance must not depend on anything but the inputs.
				if _, err := membership.Evaluate(pre, u, opt); err != nil {
					t.Fatalf("second evaluation refused what the first accepted: %v", err)
				}
			}
		}
	})
}

// checkAuthorized re-checks, independently of the engine, that an accepted
// update u on pre carries a valid authorisation: canonical body, chained
// to pre, every signature entry a distinct key with a valid Ed25519
// signature over the doc's signing message, thresholds of the pre-state
// (and for approver-set changes the post-state) met by approvers' keys, a
// pre-state owner for approver-set changes, self-signatures of added
// approvers, and (live) the time window. opt nil means history rules.
func checkAuthorized(t *testing.T, pre *membership.State, u *membership.SignedUpdate, opt *membership.Options) {
	t.Helper()
	b := &u.Body
	checkCanonical(t, u.BodyBytes())
	if b.NetworkID != pre.NetworkID() || b.Epoch != pre.Epoch()+1 || b.PrevStateRoot != pre.Root() {
		t.Fatalf("accepted an update that does not chain from the pre-state")
	}
	if opt != nil && !opt.History {
		l := membership.DefaultLimits()
		if b.ExpiresAt <= opt.Now.Unix() || b.CreatedAt > opt.Now.Add(l.MaxClockSkew).Unix() {
			t.Fatalf("accepted an update outside its time window")
		}
	}
	msg := docSigningMessage(b.NetworkID, u.BodyBytes())
	valid := map[membership.ApproverKey]bool{}
	for _, s := range u.Signatures {
		if valid[s.PublicKey] {
			t.Fatalf("accepted duplicate signer %s", s.PublicKey)
		}
		if !ed25519.Verify(s.PublicKey[:], msg, s.Sig[:]) {
			t.Fatalf("accepted an invalid signature by %s", s.PublicKey)
		}
		valid[s.PublicKey] = true
	}
	count := func(as []membership.Approver) (n uint64, owner bool) {
		for _, a := range as {
			if valid[a.PublicKey] {
				n++
				owner = owner || a.Role == membership.RoleOwner
			}
		}
		return n, owner
	}
	op := &b.Operation
	switch op.Type {
	case membership.OpGenesis:
		n, _ := count(op.Approvers)
		if n != uint64(len(op.Approvers)) || n < op.Threshold || op.Threshold < 1 {
			t.Fatalf("accepted a genesis signed by %d of its %d approvers (threshold %d)", n, len(op.Approvers), op.Threshold)
		}
		return
	case membership.OpAddApprover, membership.OpRemoveApprover, membership.OpSetThreshold:
		n, owner := count(pre.Approvers())
		if n < pre.Threshold() || !owner {
			t.Fatalf("accepted %s with %d of %d pre-state signatures, owner %v", op.Type, n, pre.Threshold(), owner)
		}
		post := pre.Approvers()
		threshold := pre.Threshold()
		switch op.Type {
		case membership.OpAddApprover:
			if !valid[op.Approver.PublicKey] {
				t.Fatalf("accepted add_approver without the new approver's signature")
			}
			post = append(post, op.Approver)
		case membership.OpRemoveApprover:
			post = post[:0:0]
			for _, a := range pre.Approvers() {
				if a.ID != op.ApproverID {
					post = append(post, a)
				}
			}
		case membership.OpSetThreshold:
			threshold = op.Threshold
		}
		if m, _ := count(post); m < threshold {
			t.Fatalf("accepted %s with %d of %d post-state signatures", op.Type, m, threshold)
		}
	default:
		if n, _ := count(pre.Approvers()); n < pre.Threshold() || pre.Threshold() < 1 {
			t.Fatalf("accepted %s with %d of %d signatures", op.Type, n, pre.Threshold())
		}
	}
}

// resolutionSeed is a signed resolve_fork (schema 4), whose body nests
// whole signed updates: a seed for the parsers.
func resolutionSeed(tb testing.TB) *membership.SignedUpdate {
	net := membershiptest.New(tb, 2)
	x := net.Sign(tb, net.Propose(tb, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node("n00009", 9)}), "alice", "bob")
	y := net.Sign(tb, net.Propose(tb, membership.Operation{Type: membership.OpRevokeNode, NodeID: "n00001"}), "bob", "carol")
	r, err := membership.NewResolution(net.Chain.State(), []*membership.SignedUpdate{x, y}, x.Digest(), net.Proposal())
	if err != nil {
		tb.Fatal(err)
	}
	return net.Sign(tb, r, "alice", "carol")
}
