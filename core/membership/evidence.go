package membership

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Evidence is proof of an equivocation: two different updates, each valid
// and signed by a threshold of approvers, that both extend the same trusted
// state (the same epoch and previous root). Honest approvers never sign
// both sides of a fork, so the approvers whose valid signatures are on both
// (the double-signers) are named by it.
//
// Evidence is portable and verifiable offline: Log is the trusted log from
// genesis up to the state both updates extend (epoch Updates[0].Epoch-1),
// so anyone holding the network's genesis root can replay it and check the
// two updates against that state (VerifyEvidence). Updates are ordered by
// their update digest, so the same two updates give byte-identical evidence
// on every node, whatever order they arrived in.
type Evidence struct {
	Log     []*SignedUpdate
	Updates [2]*SignedUpdate
}

// EvidenceFileVersion is the version of the evidence file format.
const EvidenceFileVersion = 1

// EvidenceReport is what verifying evidence established.
type EvidenceReport struct {
	NetworkID   string
	GenesisRoot Hash
	// Epoch is the epoch both updates claim; PrevRoot the root of the state
	// (epoch Epoch-1) they both extend.
	Epoch    uint64
	PrevRoot Hash
	// Digests and Roots are each update's digest and resulting state root,
	// in the evidence's order.
	Digests [2]Hash
	Roots   [2]Hash
	// DoubleSigners are the ids of the approvers of the pre-state whose
	// valid signatures are on both updates, sorted.
	DoubleSigners []string
	// Pre is the state both updates extend; Posts the states they lead to.
	Pre   *State
	Posts [2]*State
}

// NewEvidence returns the evidence that a and b, both extending the last
// state of log, conflict. It orders a and b canonically; it does not
// verify (CheckEquivocation, VerifyEvidence do).
func NewEvidence(log []*SignedUpdate, a, b *SignedUpdate) *Evidence {
	if bytes.Compare(digestOf(b).bytes(), digestOf(a).bytes()) < 0 {
		a, b = b, a
	}
	return &Evidence{Log: slices.Clip(log), Updates: [2]*SignedUpdate{a, b}}
}

func digestOf(u *SignedUpdate) Hash { return updateDigest(&u.Body) }

func (h Hash) bytes() []byte { return h[:] }

// CheckEquivocation verifies that a and b are an equivocation on pre: they
// differ, their signed validity windows [created_at, expires_at) overlap
// (so both were live together: an update re-proposed after the first
// expired is a retry, not a fork), and each is valid on pre by the rules
// of history (signatures, thresholds, roots; not the clock — an
// equivocation is proven by the signatures, whenever it is checked). It returns what it established;
// on failure the error says which update failed and why, with the
// update's own code.
func CheckEquivocation(pre *State, a, b *SignedUpdate, l *Limits) (*EvidenceReport, error) {
	if bytes.Equal(a.BodyBytes(), b.BodyBytes()) {
		return nil, errorf(IllegalOperation, "not an equivocation: the two updates have the same body")
	}
	if Supersedes(a, b) || Supersedes(b, a) {
		return nil, errorf(IllegalOperation, "not an equivocation: one of the two updates is a resolve_fork that settles the other")
	}
	// An update that expired unapplied, proposed again for the same epoch
	// once it had expired, is the normal way to retry: the approvers who
	// signed both did so one after the other, never for two live updates.
	// Only updates whose signed validity windows overlap are an
	// equivocation.
	if a.Body.ExpiresAt <= b.Body.CreatedAt || b.Body.ExpiresAt <= a.Body.CreatedAt {
		return nil, errorf(IllegalOperation, "not an equivocation: the validity windows of the two updates do not overlap (one expired before the other was created)")
	}
	r := &EvidenceReport{NetworkID: pre.networkID, Epoch: pre.epoch + 1, PrevRoot: pre.root, Pre: pre}
	signers := [2]map[string]bool{}
	for i, u := range [2]*SignedUpdate{a, b} {
		res, err := Evaluate(pre, u, Options{History: true, Limits: l})
		if err != nil {
			return nil, prefixErr(err, "update %d of the evidence (%s): ", i+1, digestOf(u))
		}
		r.Digests[i], r.Roots[i], r.Posts[i] = res.Post.lastDigest, res.Post.root, res.Post
		signers[i] = map[string]bool{}
		for _, c := range res.Auth.Signers {
			if c.Valid && c.InPre {
				signers[i][c.ID] = true
			}
		}
	}
	for id := range signers[0] {
		if signers[1][id] {
			r.DoubleSigners = append(r.DoubleSigners, id)
		}
	}
	slices.Sort(r.DoubleSigners)
	return r, nil
}

// VerifyEvidence verifies ev on its own: it replays ev.Log from genesis
// (which must produce pinnedGenesis, unless that is zero) and checks the
// two updates against the state the log ends in (CheckEquivocation).
func VerifyEvidence(ev *Evidence, pinnedGenesis Hash, l *Limits) (*EvidenceReport, error) {
	if len(ev.Log) == 0 {
		return nil, errorf(IntegrityFailure, "the evidence has no log: two different genesis updates are two networks, not a fork")
	}
	chain, _, err := Replay(ev.Log, pinnedGenesis, l)
	if err != nil {
		return nil, prefixErr(err, "the evidence's log: ")
	}
	r, err := CheckEquivocation(chain.State(), ev.Updates[0], ev.Updates[1], l)
	if err != nil {
		return nil, err
	}
	r.GenesisRoot = ev.Log[0].Body.NewStateRoot
	return r, nil
}

// wireEvidence is the evidence file: a JSON object whose log and updates
// are signed updates in their portable form.
type wireEvidence struct {
	Version   uint64            `json:"rustynet_evidence"`
	NetworkID string            `json:"network_id"`
	Epoch     uint64            `json:"epoch"`
	PrevRoot  string            `json:"prev_state_root"`
	Log       json.RawMessage   `json:"log"`
	Updates   []json.RawMessage `json:"updates"`
}

// Encode returns the evidence file form of ev: deterministic, so the same
// evidence is the same bytes on every node.
func (ev *Evidence) Encode() []byte {
	var b bytes.Buffer
	u := ev.Updates[0].Body
	fmt.Fprintf(&b, "{\n\"rustynet_evidence\": %d,\n\"network_id\": %q,\n\"epoch\": %d,\n\"prev_state_root\": %q,\n\"log\": ",
		EvidenceFileVersion, u.NetworkID, u.Epoch, u.PrevStateRoot.String())
	b.Write(bytes.TrimRight(EncodeLog(ev.Log), "\n"))
	b.WriteString(",\n\"updates\": [\n")
	b.Write(bytes.TrimRight(ev.Updates[0].Encode(), "\n"))
	b.WriteString(",\n")
	b.Write(bytes.TrimRight(ev.Updates[1].Encode(), "\n"))
	b.WriteString("\n]\n}\n")
	return b.Bytes()
}

// ParseEvidence decodes an evidence file. It checks form only — that the
// header agrees with the two updates, which claim the same epoch and
// previous root directly after the log — and never trusts the header:
// VerifyEvidence verifies.
func ParseEvidence(data []byte, l *Limits) (*Evidence, error) {
	l = limitsOrDefault(l)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var w wireEvidence
	if err := dec.Decode(&w); err != nil {
		return nil, errorf(NonCanonical, "not an evidence file: %s", jsonProblem(err))
	}
	if dec.More() {
		return nil, errorf(NonCanonical, "trailing data after the evidence")
	}
	if w.Version != EvidenceFileVersion {
		return nil, errorf(UnknownSchema, "evidence file version %d; this build reads version %d", w.Version, EvidenceFileVersion)
	}
	if len(w.Updates) != 2 {
		return nil, errorf(NonCanonical, "evidence holds %d updates, not 2", len(w.Updates))
	}
	if len(w.Log) == 0 || !bytes.HasPrefix(bytes.TrimLeft(w.Log, " \t\r\n"), []byte("[")) {
		return nil, errorf(NonCanonical, "the evidence's log is not a JSON array of signed updates")
	}
	log, err := ParseLog(w.Log, l)
	if err != nil {
		return nil, prefixErr(err, "the evidence's log: ")
	}
	ev := &Evidence{Log: log}
	for i, raw := range w.Updates {
		u, err := ParseSignedUpdate(raw, l)
		if err != nil {
			return nil, prefixErr(err, "update %d of the evidence: ", i+1)
		}
		ev.Updates[i] = u
	}
	a, b := &ev.Updates[0].Body, &ev.Updates[1].Body
	switch {
	case a.NetworkID != w.NetworkID || b.NetworkID != w.NetworkID:
		return nil, errorf(WrongNetwork, "the evidence's updates are not both for network %q", w.NetworkID)
	case a.Epoch != w.Epoch || b.Epoch != w.Epoch || a.PrevStateRoot.String() != w.PrevRoot || b.PrevStateRoot.String() != w.PrevRoot:
		return nil, errorf(NonCanonical, "the evidence's updates do not both claim epoch %d and previous root %s", w.Epoch, w.PrevRoot)
	case uint64(len(log))+1 != w.Epoch:
		return nil, errorf(NonCanonical, "the evidence's log has %d entries; updates of epoch %d must follow %d", len(log), w.Epoch, w.Epoch-1)
	case bytes.Compare(digestOf(ev.Updates[0]).bytes(), digestOf(ev.Updates[1]).bytes()) >= 0:
		return nil, errorf(NonCanonical, "the evidence's updates are equal or not in digest order")
	}
	return ev, nil
}

// Name is a file name for the evidence, the same on every node:
// "fork-<epoch>-<first 8 hex digits of each digest>.json".
func (r *EvidenceReport) Name() string {
	return fmt.Sprintf("fork-%d-%s-%s.json", r.Epoch, r.Digests[0].String()[:8], r.Digests[1].String()[:8])
}

// Summary is one line saying what the evidence proves.
func (r *EvidenceReport) Summary() string {
	who := "no approver signed both (the two quorums share no one)"
	if len(r.DoubleSigners) > 0 {
		who = "signed by both sides: " + strings.Join(r.DoubleSigners, ", ")
	}
	return fmt.Sprintf("two quorum-signed updates extend epoch %d (root %s): %s and %s; %s",
		r.Epoch-1, short(r.PrevRoot), short(r.Digests[0]), short(r.Digests[1]), who)
}

func short(h Hash) string { return h.String()[:16] }

// ForkFloor is the state a node holds while it has evidence of a fork: the
// part of cur that every state in others agrees with. A node stays in it
// only if its record (key, addresses, routes, endpoints, tags, status) is
// byte-identical in cur and in every other state; the policy stays only if
// it is the same everywhere, and otherwise there is none (every connection
// from peers is denied). Approvers, threshold and epoch are cur's, and its
// root is its own: the floor is what the data plane follows, not a
// trusted state.
//
// The floor is order-independent: for a fork at the head (cur is one of
// the two post-states and others are the pre-state and both post-states),
// nodes on either side compute the same members and policy.
func ForkFloor(cur *State, others ...*State) *State {
	b := newBuilder(cur)
	for n, leaf := range cur.nodes.all {
		for _, o := range others {
			_, other, ok := o.nodes.get(n.ID)
			if !ok || !bytes.Equal(other, leaf) {
				b.deleteNode(n.ID)
				break
			}
		}
	}
	for _, o := range others {
		if o.policy == nil || cur.policy == nil || o.policyDigest != cur.policyDigest {
			b.s.policy, b.s.policyDigest = nil, Hash{}
			break
		}
	}
	return b.finish(cur.epoch, cur.lastDigest)
}
