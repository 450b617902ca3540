package membership_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// addOp returns an add_node operation for a fresh node.
func addOp(id string, i int) membership.Operation {
	return membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node(id, i)}
}

// TestSignatureCounting covers who counts toward the threshold: distinct
// keys of approvers of the pre-state, each with a valid signature. Any
// entry that is not such a signature refuses the whole update (the
// engine's documented policy), it is never silently ignored.
func TestSignatureCounting(t *testing.T) {
	cases := []struct {
		name    string
		signers []string
		extra   func(tb testing.TB, u *membership.SignedUpdate) []wireSig
		code    membership.Code
		old     *membership.ThresholdCheck // when the thresholds were reached
	}{
		{name: "no signature", code: membership.ThresholdNotMet, old: &membership.ThresholdCheck{Have: 0, Need: 2}},
		{name: "1 of 2", signers: []string{"alice"}, code: membership.ThresholdNotMet, old: &membership.ThresholdCheck{Have: 1, Need: 2}},
		{name: "2 of 2", signers: []string{"alice", "bob"}, old: &membership.ThresholdCheck{Have: 2, Need: 2}},
		{name: "3 of 2", signers: []string{"alice", "bob", "carol"}, old: &membership.ThresholdCheck{Have: 3, Need: 2}},
		{name: "non-owners suffice for a node change", signers: []string{"bob", "carol"}, old: &membership.ThresholdCheck{Have: 2, Need: 2}},
		{name: "duplicate entry of one signature", signers: []string{"alice"},
			extra: func(tb testing.TB, u *membership.SignedUpdate) []wireSig { return sigsOf(u) },
			code:  membership.DuplicateSigner},
		{name: "duplicate key with another signature value", signers: []string{"alice", "bob"},
			extra: func(tb testing.TB, u *membership.SignedUpdate) []wireSig {
				s := sigsOf(u)[0]
				s.Signature = base64.StdEncoding.EncodeToString(make([]byte, 64))
				return []wireSig{s}
			},
			code: membership.DuplicateSigner},
		{name: "non-approver among a quorum", signers: []string{"alice", "bob", "mallory"}, code: membership.UnknownSigner},
		{name: "non-approver only", signers: []string{"mallory"}, code: membership.UnknownSigner},
		{name: "node key material as a signer", signers: []string{"alice"},
			extra: func(tb testing.TB, u *membership.SignedUpdate) []wireSig {
				// A node's own key, used as an Ed25519 key: not an approver.
				nodeSeed := membershiptest.NodeKey("n00000")
				priv := ed25519.NewKeyFromSeed(nodeSeed[:])
				return []wireSig{{base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey)),
					base64.StdEncoding.EncodeToString(ed25519.Sign(priv, docSigningMessage("test", u.BodyBytes())))}}
			},
			code: membership.UnknownSigner},
		{name: "approver with a bad signature among a quorum", signers: []string{"alice", "bob"},
			extra: func(tb testing.TB, u *membership.SignedUpdate) []wireSig {
				carol := membershiptest.NewApprover("carol", "")
				return []wireSig{rawSign(carol, []byte("something else"))}
			},
			code: membership.BadSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			net := membershiptest.New(t, 2)
			u := net.Propose(t, addOp("x", 50))
			net.Sign(t, u, c.signers...)
			if c.extra != nil {
				u = withSigs(t, u, c.extra(t, u)...)
			}
			if c.code != "" {
				wantReject(t, net, u, c.code, "")
			}
			res, err := membership.Evaluate(net.Chain.State(), u, net.Options())
			wantCode(t, err, c.code)
			if c.old != nil {
				if diff := cmp.Diff(c.old, res.Auth.Old); diff != "" {
					t.Errorf("Auth.Old (-want +got):\n%s", diff)
				}
				if res.Auth.New != nil || res.Auth.OwnerRequired {
					t.Errorf("a node change needs only the old threshold: got New %v OwnerRequired %v", res.Auth.New, res.Auth.OwnerRequired)
				}
			}
			if c.code == "" {
				if res.Post == nil || res.Post.Root() != u.Body.NewStateRoot {
					t.Fatalf("accepted update: got post-state %v, want root %s", res.Post, u.Body.NewStateRoot)
				}
				net.MustApply(t, u)
			}
		})
	}
}

// TestRemovedApproverSignature: after remove_approver is applied, the
// removed key is no approver of the pre-state of any later update.
func TestRemovedApproverSignature(t *testing.T) {
	net := membershiptest.New(t, 1)
	rm := net.Propose(t, membership.Operation{Type: membership.OpRemoveApprover, ApproverID: "carol"})
	net.MustApply(t, net.Sign(t, rm, "alice", "bob"))
	for name, signers := range map[string][]string{
		"with one remaining approver": {"alice", "carol"},
		"beside a full quorum":        {"alice", "bob", "carol"},
		"alone":                       {"carol"},
	} {
		t.Run(name, func(t *testing.T) {
			u := net.Propose(t, addOp("x", 50))
			wantReject(t, net, net.Sign(t, u, signers...), membership.UnknownSigner, "not an approver")
		})
	}
}

// TestTamperedBody: a body changed after it was signed never verifies. Each
// case names the first check the change trips.
func TestTamperedBody(t *testing.T) {
	net := membershiptest.New(t, 2)
	fixed := func(b byte) *bytes.Reader { return bytes.NewReader(bytes.Repeat([]byte{b}, 16)) }
	propose := func(op membership.Operation, id byte, created time.Time) *membership.SignedUpdate {
		p := net.Proposal()
		p.Rand, p.CreatedAt = fixed(id), created
		u, err := membership.NewUpdate(net.Chain.State(), op, p)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	signed := net.Sign(t, propose(addOp("x", 50), 1, net.Now), "alice", "bob")
	body := string(signed.BodyBytes())

	t.Run("every single-bit flip is refused", func(t *testing.T) {
		for i := range len(body) {
			for _, bit := range []byte{0x01, 0x20} {
				b := []byte(body)
				b[i] ^= bit
				u, err := membership.ParseSignedUpdate(envelope(b, sigsOf(signed)...), nil)
				if err != nil {
					continue
				}
				if _, err := membership.Evaluate(net.Chain.State(), u, net.Options()); err == nil {
					t.Fatalf("flipping bit %#x of byte %d (%q) gave an update that verifies", bit, i, body[i])
				}
			}
		}
	})

	cases := []struct {
		name string
		mut  func() *membership.SignedUpdate
		code membership.Code
	}{
		{"owner changed in the bytes", func() *membership.SignedUpdate {
			return mustParse(t, envelope([]byte(strings.Replace(body, `"owner":""`, `"owner":"x"`, 1)), sigsOf(signed)...))
		}, membership.WrongNewRoot},
		{"epoch changed in the bytes", func() *membership.SignedUpdate {
			return mustParse(t, envelope([]byte(strings.Replace(body, `"epoch":2,`, `"epoch":3,`, 1)), sigsOf(signed)...))
		}, membership.FutureEpoch},
		{"created_at changed in the bytes", func() *membership.SignedUpdate {
			return mustParse(t, envelope([]byte(strings.Replace(body, `"created_at":1767225600`, `"created_at":1767225601`, 1)), sigsOf(signed)...))
		}, membership.WrongNewRoot},
		{"node changed and new root recomputed", func() *membership.SignedUpdate {
			return transplant(t, signed, propose(addOp("x", 51), 1, net.Now))
		}, membership.BadSignature},
		{"update id changed and new root recomputed", func() *membership.SignedUpdate {
			return transplant(t, signed, propose(addOp("x", 50), 2, net.Now))
		}, membership.BadSignature},
		{"expiry extended and new root recomputed", func() *membership.SignedUpdate {
			p := net.Proposal()
			p.Rand, p.Validity = fixed(1), 48*time.Hour
			u, err := membership.NewUpdate(net.Chain.State(), addOp("x", 50), p)
			if err != nil {
				t.Fatal(err)
			}
			return transplant(t, signed, u)
		}, membership.BadSignature},
		{"decoded Body changed in memory, root recomputed", func() *membership.SignedUpdate {
			u := mustParse(t, signed.Encode())
			u.Body = propose(addOp("x", 51), 1, net.Now).Body // signatures still cover the old bytes
			return u
		}, membership.NonCanonical},
		{"decoded Body changed in memory", func() *membership.SignedUpdate {
			u := mustParse(t, signed.Encode())
			u.Body.Operation.Node.Owner = "mallory"
			return u
		}, membership.NonCanonical},
		{"update built as a literal", func() *membership.SignedUpdate {
			return &membership.SignedUpdate{Body: signed.Body, Signatures: signed.Signatures}
		}, membership.NonCanonical},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantReject(t, net, c.mut(), c.code, "")
		})
	}

	t.Run("Sign refuses a Body changed after building", func(t *testing.T) {
		u := propose(addOp("y", 52), 3, net.Now)
		u.Body.Operation.Node.ID = "z"
		wantCode(t, u.Sign(net.Approvers["alice"].Private), membership.NonCanonical)
		lit := &membership.SignedUpdate{Body: u.Body}
		wantCode(t, lit.Sign(net.Approvers["alice"].Private), membership.NonCanonical)
		if len(lit.Signatures) != 0 || len(u.Signatures) != 0 {
			t.Errorf("a refused Sign appended a signature")
		}
	})
}

// TestNetworkBinding: signatures and updates are bound to one network.
func TestNetworkBinding(t *testing.T) {
	net := membershiptest.New(t, 2)
	u := net.Propose(t, addOp("x", 50))

	t.Run("same body signed under another network id", func(t *testing.T) {
		var sigs []wireSig
		for _, id := range []string{"alice", "bob"} {
			sigs = append(sigs, rawSign(net.Approvers[id], docSigningMessage("prod", u.BodyBytes())))
		}
		wantReject(t, net, mustParse(t, envelope(u.BodyBytes(), sigs...)), membership.BadSignature, "")
	})
	t.Run("signature without the context string", func(t *testing.T) {
		var sigs []wireSig
		for _, id := range []string{"alice", "bob"} {
			sigs = append(sigs, rawSign(net.Approvers[id], u.BodyBytes()))
		}
		wantReject(t, net, mustParse(t, envelope(u.BodyBytes(), sigs...)), membership.BadSignature, "")
	})
	t.Run("signed by the doc's message verifies", func(t *testing.T) {
		var sigs []wireSig
		for _, id := range []string{"alice", "bob"} {
			sigs = append(sigs, rawSign(net.Approvers[id], docSigningMessage("test", u.BodyBytes())))
		}
		if _, err := membership.Evaluate(net.Chain.State(), mustParse(t, envelope(u.BodyBytes(), sigs...)), net.Options()); err != nil {
			t.Fatalf("got %v, want the doc's signing message to verify", err)
		}
	})
	t.Run("v2 body signed under the v1 context string", func(t *testing.T) {
		var sigs []wireSig
		for _, id := range []string{"alice", "bob"} {
			sigs = append(sigs, rawSign(net.Approvers[id], docSigningMessageWith(docSigningContext, "test", u.BodyBytes())))
		}
		wantReject(t, net, mustParse(t, envelope(u.BodyBytes(), sigs...)), membership.BadSignature, "")
	})
	t.Run("v1 body signed under the v2 context string", func(t *testing.T) {
		v1 := membershiptest.NewV1(t, 2)
		w := v1.Propose(t, addOp("x", 50))
		if w.Body.SchemaVersion != 1 {
			t.Fatalf("proposal on a network without a policy: got schema %d, want 1", w.Body.SchemaVersion)
		}
		var sigs []wireSig
		for _, id := range []string{"alice", "bob"} {
			sigs = append(sigs, rawSign(v1.Approvers[id], docSigningMessageWith(docSigningContextV2, "test", w.BodyBytes())))
		}
		wantReject(t, v1, mustParse(t, envelope(w.BodyBytes(), sigs...)), membership.BadSignature, "")
	})
	t.Run("update of another network", func(t *testing.T) {
		other := membershiptest.NewWith(t, "prod", 2, approvers("alice", "bob", "carol"), 2)
		v := other.Sign(t, other.Propose(t, addOp("x", 50)), "alice", "bob")
		wantReject(t, net, v, membership.WrongNetwork, `"prod"`)
	})
}

// TestChainingChecks: epoch, prev_state_root, new_state_root, replay.
func TestChainingChecks(t *testing.T) {
	net := membershiptest.New(t, 2)
	s1 := net.Chain.State()
	net.MustApply(t, net.Sign(t, net.Propose(t, addOp("a", 60)), "alice", "bob"))
	s := net.Chain.State()
	legal := addOp("x", 50)
	signed := func(b membership.Body) *membership.SignedUpdate {
		return net.Sign(t, forge(t, b), "alice", "bob")
	}
	cases := []struct {
		name string
		body func() membership.Body
		code membership.Code
	}{
		{"epoch +2", func() membership.Body { b := nextBody(s, legal, net.Now); b.Epoch++; return b }, membership.FutureEpoch},
		{"epoch equal", func() membership.Body { b := nextBody(s, legal, net.Now); b.Epoch--; return b }, membership.StaleEpoch},
		{"epoch 0", func() membership.Body { b := nextBody(s, legal, net.Now); b.Epoch = 0; return b }, membership.StaleEpoch},
		{"prev root of the previous state", func() membership.Body {
			b := nextBody(s, legal, net.Now)
			b.PrevStateRoot = s1.Root()
			return b
		}, membership.WrongPrevRoot},
		{"prev root zero", func() membership.Body {
			b := nextBody(s, legal, net.Now)
			b.PrevStateRoot = membership.Hash{}
			return b
		}, membership.WrongPrevRoot},
		{"new root zero", func() membership.Body { return nextBody(s, legal, net.Now) }, membership.WrongNewRoot},
		{"new root = prev root", func() membership.Body {
			b := nextBody(s, legal, net.Now)
			b.NewStateRoot = s.Root()
			return b
		}, membership.WrongNewRoot},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantReject(t, net, signed(c.body()), c.code, "")
		})
	}

	t.Run("replayed update", func(t *testing.T) {
		u := net.Sign(t, net.Propose(t, addOp("b", 61)), "alice", "bob")
		net.MustApply(t, u)
		wantReject(t, net, u, membership.ReplayedUpdate, "already applied at epoch 3")
	})
	t.Run("new body reusing an applied update id", func(t *testing.T) {
		b := nextBody(net.Chain.State(), addOp("c", 62), net.Now)
		b.UpdateID = net.Log[1].Body.UpdateID
		wantReject(t, net, signed(b), membership.ReplayedUpdate, "")
	})
}

// TestTimeWindow: expiry, clock skew, validity limit, and history mode.
func TestTimeWindow(t *testing.T) {
	l := membership.DefaultLimits()
	skew := l.MaxClockSkew
	cases := []struct {
		name     string
		created  time.Duration // relative to the verifier's clock
		validity time.Duration
		history  bool
		code     membership.Code
	}{
		{"fresh", 0, time.Hour, false, ""},
		{"created exactly at the skew", skew, time.Hour, false, ""},
		{"created at skew+1s", skew + time.Second, time.Hour, false, membership.NotYetValid},
		{"created far in the future", 24 * time.Hour, time.Hour, false, membership.NotYetValid},
		{"expires in one second", -time.Hour + time.Second, time.Hour, false, ""},
		{"expires now", -time.Hour, time.Hour, false, membership.Expired},
		{"expired long ago", -48 * time.Hour, time.Hour, false, membership.Expired},
		{"validity exactly MaxValidity", 0, l.MaxValidity, false, ""},
		{"validity MaxValidity+1s", 0, l.MaxValidity + time.Second, false, membership.LimitExceeded},
		{"history: expired long ago", -48 * time.Hour, time.Hour, true, ""},
		{"history: created in the future", 24 * time.Hour, time.Hour, true, ""},
		{"history: validity MaxValidity+1s", 0, l.MaxValidity + time.Second, true, membership.LimitExceeded},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			net := membershiptest.New(t, 2)
			b := nextBody(net.Chain.State(), addOp("x", 50), net.Now)
			b.CreatedAt = net.Now.Add(c.created).Unix()
			b.ExpiresAt = net.Now.Add(c.created + c.validity).Unix()
			u := net.Sign(t, forge(t, b), "alice", "bob")
			_, err := membership.Evaluate(net.Chain.State(), u, membership.Options{Now: net.Now, History: c.history})
			// The forged root is zero, so an update that passes the time
			// checks fails next on the root: that proves the time checks passed.
			want := c.code
			if want == "" {
				want = membership.WrongNewRoot
			}
			wantCode(t, err, want)
		})
	}

	t.Run("expires no later than created, even in history", func(t *testing.T) {
		net := membershiptest.New(t, 2)
		for _, history := range []bool{false, true} {
			b := nextBody(net.Chain.State(), addOp("x", 50), net.Now)
			b.ExpiresAt = b.CreatedAt
			_, err := membership.Evaluate(net.Chain.State(), net.Sign(t, forge(t, b), "alice", "bob"), membership.Options{Now: net.Now, History: history})
			wantCode(t, err, membership.Expired)
		}
	})
	t.Run("validity overflowing a Duration", func(t *testing.T) {
		// expires_at - created_at = 9223372037 s: in nanoseconds that
		// wraps int64 to a negative Duration, which must not pass as short.
		net := membershiptest.New(t, 2)
		for _, span := range []int64{9223372037, 18446744074, 1<<53 - 1 - net.Now.Unix()} {
			b := nextBody(net.Chain.State(), addOp("x", 50), net.Now)
			b.ExpiresAt = b.CreatedAt + span
			_, err := membership.Evaluate(net.Chain.State(), net.Sign(t, forge(t, b), "alice", "bob"), net.Options())
			wantCode(t, err, membership.LimitExceeded)
		}
	})
	t.Run("zero clock fails closed", func(t *testing.T) {
		net := membershiptest.New(t, 2)
		u := net.Sign(t, net.Propose(t, addOp("x", 50)), "alice", "bob")
		_, err := membership.Evaluate(net.Chain.State(), u, membership.Options{})
		wantCode(t, err, membership.NotYetValid)
	})
	t.Run("proposal beyond MaxValidity is refused", func(t *testing.T) {
		net := membershiptest.New(t, 2)
		p := net.Proposal()
		p.Validity = l.MaxValidity + time.Second
		_, err := membership.NewUpdate(net.Chain.State(), addOp("x", 50), p)
		wantCode(t, err, membership.LimitExceeded)
	})
}

// TestHistoryReplaysExpiredLog: expiry gates acceptance only. A log whose
// every update has long expired replays (Replay uses history rules), while
// applying the same updates live is refused.
func TestHistoryReplaysExpiredLog(t *testing.T) {
	net := membershiptest.New(t, 2)
	for i, step := range []struct {
		op      membership.Operation
		signers []string
	}{
		{addOp("x", 50), []string{"alice", "bob"}},
		{membership.Operation{Type: membership.OpRevokeNode, NodeID: "x"}, []string{"bob", "carol"}},
		{membership.Operation{Type: membership.OpAddApprover, Approver: membershiptest.NewApprover("dave", membership.RoleApprover).Approver}, []string{"alice", "bob", "dave"}},
	} {
		net.Now = membershiptest.Epoch0.Add(time.Duration(i+1) * time.Minute)
		net.MustApply(t, net.Sign(t, net.Propose(t, step.op), step.signers...))
	}
	data := membership.EncodeLog(net.Log)
	log, err := membership.ParseLog(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, n, err := membership.Replay(log, net.Log[0].Body.NewStateRoot, nil)
	if err != nil || n != len(log) {
		t.Fatalf("Replay of an expired log: got %d entries, error %v; want %d, none", n, err, len(log))
	}
	if c.State().Root() != net.Chain.State().Root() {
		t.Errorf("replayed root: got %s, want %s", c.State().Root(), net.Chain.State().Root())
	}

	years := membershiptest.Epoch0.Add(3 * 365 * 24 * time.Hour)
	live := membership.NewChain("test")
	for i, u := range log {
		_, err := live.Apply(u, membership.Options{Now: years})
		wantCode(t, err, membership.Expired)
		if i == 0 {
			break // the chain cannot move past a refused genesis
		}
	}
	hist := membership.NewChain("test")
	for _, u := range log {
		if _, err := hist.Apply(u, membership.Options{Now: years, History: true}); err != nil {
			t.Fatalf("history apply: got %v, want success", err)
		}
	}
}

// TestEvaluateIsPure: Evaluate never changes its inputs, and evaluating
// the same update twice gives the same post-state root.
func TestEvaluateIsPure(t *testing.T) {
	net := membershiptest.New(t, 3)
	pre := net.Chain.State()
	root, nodes := pre.Root(), pre.NodeCount()
	n0, _ := pre.Node("n00000")
	for _, op := range []membership.Operation{
		addOp("x", 50),
		{Type: membership.OpRemoveNode, NodeID: "n00000"},
		{Type: membership.OpRotateNodeKey, NodeID: "n00000", PublicKey: membershiptest.NodeKey("new")},
		{Type: membership.OpUpdateNode, NodeID: "n00000", Addresses: pfxs("100.64.7.7/32"), Endpoints: []netip.AddrPort{}, Tags: []string{"exit"}, Routes: pfxs("0.0.0.0/0")},
		{Type: membership.OpRemoveApprover, ApproverID: "carol"},
	} {
		u := net.Sign(t, net.Propose(t, op), "alice", "bob")
		body := bytes.Clone(u.BodyBytes())
		r1, err1 := membership.Evaluate(pre, u, net.Options())
		r2, err2 := membership.Evaluate(pre, u, net.Options())
		if err1 != nil || err2 != nil || r1.Post.Root() != r2.Post.Root() {
			t.Fatalf("%s: got (%v, %v), want two identical acceptances", op.Type, err1, err2)
		}
		if pre.Root() != root || pre.NodeCount() != nodes || len(pre.Approvers()) != 3 {
			t.Fatalf("%s: Evaluate changed its pre-state", op.Type)
		}
		if got, _ := pre.Node("n00000"); !cmp.Equal(got, n0, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }), cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })) {
			t.Fatalf("%s: Evaluate changed a node of its pre-state: got %+v, want %+v", op.Type, got, n0)
		}
		if !bytes.Equal(u.BodyBytes(), body) {
			t.Fatalf("%s: Evaluate changed the update", op.Type)
		}
	}
}
