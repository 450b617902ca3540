package membership

import (
	"encoding/base64"
	"encoding/hex"
	"net/netip"
)

// The canonical encoders below emit object members in ascending key order;
// TestCanonicalKeyOrder checks every record type against a generic RFC 8785
// canonicaliser.

func (w *canonWriter) prefixes(k string, ps []netip.Prefix) {
	w.key(k)
	w.beginArray()
	for _, p := range ps {
		w.value(p.String())
	}
	w.endArray()
}

func (w *canonWriter) addrPorts(k string, as []netip.AddrPort) {
	w.key(k)
	w.beginArray()
	for _, a := range as {
		w.value(a.String())
	}
	w.endArray()
}

func (w *canonWriter) node(n *Node) {
	w.beginObject()
	w.prefixes("addresses", n.Addresses)
	w.addrPorts("endpoints", n.Endpoints)
	w.field("node_id", n.ID)
	w.field("owner", n.Owner)
	w.field("public_key", n.PublicKey.String())
	w.prefixes("routes", n.Routes)
	w.field("status", string(n.Status))
	w.fieldStrings("tags", n.Tags)
	w.endObject()
}

func (w *canonWriter) approver(a *Approver) {
	w.beginObject()
	w.field("approver_id", a.ID)
	w.field("public_key", a.PublicKey.String())
	w.field("role", string(a.Role))
	w.endObject()
}

func (w *canonWriter) operation(op *Operation) {
	w.beginObject()
	switch op.Type {
	case OpGenesis:
		w.key("approvers")
		w.beginArray()
		for i := range op.Approvers {
			w.approver(&op.Approvers[i])
		}
		w.endArray()
		w.key("nodes")
		w.beginArray()
		for i := range op.Nodes {
			w.node(&op.Nodes[i])
		}
		w.endArray()
		if op.Policy != nil {
			w.key("policy")
			w.policy(op.Policy)
		}
		if op.Recovery != nil {
			w.key("recovery")
			w.recovery(op.Recovery)
		}
		w.fieldUint("threshold", op.Threshold)
	case OpAddNode:
		w.key("node")
		w.node(&op.Node)
	case OpRemoveNode, OpRevokeNode, OpRestoreNode:
		w.field("node_id", op.NodeID)
	case OpRotateNodeKey:
		w.field("node_id", op.NodeID)
		w.field("public_key", op.PublicKey.String())
	case OpUpdateNode:
		w.prefixes("addresses", op.Addresses)
		w.addrPorts("endpoints", op.Endpoints)
		w.field("node_id", op.NodeID)
		w.prefixes("routes", op.Routes)
		w.fieldStrings("tags", op.Tags)
	case OpAddApprover:
		w.key("approver")
		w.approver(&op.Approver)
	case OpRemoveApprover:
		w.field("approver_id", op.ApproverID)
	case OpSetThreshold:
		w.fieldUint("threshold", op.Threshold)
	case OpSetPolicy:
		w.key("policy")
		w.layout.policy[0] = len(w.b) // the key leaves nothing for policy's sep to write
		w.policy(op.Policy)
		w.layout.policy[1] = len(w.b)
	case OpSetRecovery:
		w.key("recovery")
		w.recovery(op.Recovery)
	case OpRecover:
		w.key("approvers")
		w.beginArray()
		for i := range op.Approvers {
			w.approver(&op.Approvers[i])
		}
		w.endArray()
		w.fieldUint("threshold", op.Threshold)
	case OpResolveFork:
		choice := ""
		if op.Choice != (Hash{}) {
			choice = op.Choice.String()
		}
		w.field("choice", choice)
		w.key("sides")
		w.beginArray()
		for _, u := range op.Sides {
			w.signedUpdate(u)
		}
		w.endArray()
	}
	w.field("type", string(op.Type))
	w.endObject()
}

// signedUpdate writes a whole signed update as one object (§15): its
// canonical body verbatim and its signatures, in the order they carry.
func (w *canonWriter) signedUpdate(u *SignedUpdate) {
	w.beginObject()
	w.key("body")
	w.sep()
	w.b = append(w.b, u.raw...)
	w.key("signatures")
	w.beginArray()
	for _, s := range u.Signatures {
		w.beginObject()
		w.field("public_key", s.PublicKey.String())
		w.field("signature", base64.StdEncoding.EncodeToString(s.Sig[:]))
		w.endObject()
	}
	w.endArray()
	w.endObject()
}

// recovery writes a recovery set (§14); nil is written as an empty one,
// which no state accepts.
func (w *canonWriter) recovery(r *Recovery) {
	w.beginObject()
	w.key("keys")
	w.beginArray()
	if r != nil {
		for _, k := range r.Keys {
			w.value(k.String())
		}
	}
	w.endArray()
	var t uint64
	if r != nil {
		t = r.Threshold
	}
	w.fieldUint("threshold", t)
	w.endObject()
}

// EncodeRecovery returns the canonical encoding of r (§14), the input of
// its digest.
func EncodeRecovery(r *Recovery) []byte {
	w := canonWriter{b: make([]byte, 0, 256)}
	w.recovery(r)
	return w.b
}

// policy writes a policy document (§13.3); nil is written as a policy
// without rules.
func (w *canonWriter) policy(p *Policy) {
	w.beginObject()
	w.key("rules")
	w.beginArray()
	if p != nil {
		for i := range p.Rules {
			r := &p.Rules[i]
			w.beginObject()
			w.field("context", string(r.Context))
			w.selectors("dst", r.Dst)
			w.field("name", r.Name)
			w.key("ports")
			w.beginArray()
			for _, ps := range r.Ports {
				w.value(ps.String())
			}
			w.endArray()
			w.selectors("src", r.Src)
			w.endObject()
		}
	}
	w.endArray()
	w.endObject()
}

func (w *canonWriter) selectors(k string, ss []Selector) {
	w.key(k)
	w.beginArray()
	for _, s := range ss {
		w.value(s.String())
	}
	w.endArray()
}

// body writes the canonical body; withNewRoot=false omits new_state_root,
// which gives the input of the update digest (see updateDigest).
//
// It records in w.layout where the new_state_root member and a set_policy
// operation's policy lie in w.b.
func (w *canonWriter) body(b *Body, withNewRoot bool) {
	w.beginObject()
	w.fieldUint("created_at", uint64(b.CreatedAt))
	w.fieldUint("epoch", b.Epoch)
	w.fieldUint("expires_at", uint64(b.ExpiresAt))
	w.field("kind", UpdateKind)
	w.field("network_id", b.NetworkID)
	if withNewRoot {
		w.layout.root[0] = len(w.b)
		w.field("new_state_root", b.NewStateRoot.String())
		w.layout.root[1] = len(w.b)
	}
	w.key("operation")
	w.operation(&b.Operation)
	w.field("prev_state_root", b.PrevStateRoot.String())
	w.fieldUint("schema_version", b.SchemaVersion)
	w.field("update_id", hex.EncodeToString(b.UpdateID[:]))
	w.endObject()
}

// String returns h as lower-case hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// ParseHash parses 64 lower-case hex digits.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 64 {
		return h, errorf(NonCanonical, "hash %q is not 64 hex digits", s)
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil || h.String() != s {
		return h, errorf(NonCanonical, "hash %q is not lower-case hex", s)
	}
	return h, nil
}

// bodyLayout locates two parts of a body's canonical bytes, as [start, end)
// offsets. root is the new_state_root member with the comma before it: the
// bytes without it are what the update digest covers (updateDigest).
// policy is a set_policy operation's policy document, byte for byte its
// EncodePolicy; zero for any other operation.
type bodyLayout struct {
	root, policy [2]int
}

// EncodeBody returns the canonical bytes of b. It does not validate b; use
// NewUpdate to build a valid update.
func EncodeBody(b *Body) []byte {
	w := canonWriter{b: make([]byte, 0, 512)}
	w.body(b, true)
	return w.b
}

// EncodePolicy returns the canonical bytes of a policy document: the
// input of its digest in the state root (encoding doc §13.5). nil encodes
// as a policy without rules. It does not validate p.
func EncodePolicy(p *Policy) []byte {
	w := canonWriter{b: make([]byte, 0, 256)}
	w.policy(p)
	return w.b
}

// encodeNode returns the canonical bytes of one node record: the input of
// its leaf hash in the state root.
func encodeNode(n *Node, buf []byte) []byte {
	w := canonWriter{b: buf[:0]}
	w.node(n)
	return w.b
}

func encodeApprover(a *Approver, buf []byte) []byte {
	w := canonWriter{b: buf[:0]}
	w.approver(a)
	return w.b
}
