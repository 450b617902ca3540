package membership

import (
	"net/netip"
	"slices"
)

// reduce applies op to pre and returns the (unsealed) next state. It checks
// the operation's legality against pre and the growth limits; it knows
// nothing of signatures, epochs or time. It never modifies pre. policyEnc,
// if not nil, is EncodePolicy(op.Policy) of a set_policy, as the caller
// has it already (SignedUpdate.boundPolicy).
func reduce(pre *State, op *Operation, policyEnc []byte, l *Limits) (*builder, error) {
	b := newBuilder(pre)
	if op.Type != OpGenesis && pre.epoch == 0 {
		return nil, errorf(IllegalOperation, "the first update of a network must be its genesis, not %s", op.Type)
	}
	switch op.Type {
	case OpGenesis:
		return b, reduceGenesis(b, pre, op, l)
	case OpResolveFork:
		// The chosen side's operation, as if it alone had been applied;
		// none: the state stays as it was (its epoch and digest move on).
		if chosen := op.chosen(); chosen != nil {
			return reduce(pre, &chosen.Body.Operation, nil, l)
		}
		return b, nil
	case OpAddNode:
		n := op.Node.Clone()
		if err := validateNode(&n, l); err != nil {
			return nil, err
		}
		if n.Status != StatusActive {
			return nil, errorf(IllegalOperation, "add_node: node %s must be added active", n.ID)
		}
		if _, ok := pre.node(n.ID); ok {
			return nil, errorf(IllegalOperation, "add_node: node %s already exists (a revoked node is restored, not re-added)", n.ID)
		}
		if pre.nodes.len()+1 > l.MaxNodes {
			return nil, errorf(LimitExceeded, "add_node: the network already has the maximum of %d nodes", l.MaxNodes)
		}
		if err := checkUnique(pre, &n); err != nil {
			return nil, err
		}
		b.putNode(&n)
	case OpRemoveNode:
		if _, err := existing(pre, op); err != nil {
			return nil, err
		}
		b.deleteNode(op.NodeID)
	case OpRevokeNode, OpRestoreNode:
		cur, err := existing(pre, op)
		if err != nil {
			return nil, err
		}
		from, to := StatusActive, StatusRevoked
		if op.Type == OpRestoreNode {
			from, to = to, from
		}
		if cur.Status != from {
			return nil, errorf(IllegalOperation, "%s: node %s is %s", op.Type, op.NodeID, cur.Status)
		}
		n := *cur
		n.Status = to
		b.putNode(&n)
	case OpRotateNodeKey:
		cur, err := existing(pre, op)
		if err != nil {
			return nil, err
		}
		if op.PublicKey == (NodeKey{}) {
			return nil, errorf(IllegalOperation, "rotate_node_key: the new key is all zeroes")
		}
		if op.PublicKey == cur.PublicKey {
			return nil, errorf(IllegalOperation, "rotate_node_key: node %s already has that key", op.NodeID)
		}
		n := *cur
		n.PublicKey = op.PublicKey
		if err := checkUnique(pre, &n); err != nil {
			return nil, err
		}
		b.putNode(&n)
	case OpUpdateNode:
		cur, err := existing(pre, op)
		if err != nil {
			return nil, err
		}
		n := *cur
		n.Addresses = slices.Clone(op.Addresses)
		n.Endpoints = slices.Clone(op.Endpoints)
		n.Tags = slices.Clone(op.Tags)
		n.Routes = slices.Clone(op.Routes)
		if err := validateNode(&n, l); err != nil {
			return nil, err
		}
		if equalNode(&n, cur) {
			return nil, errorf(IllegalOperation, "update_node: the update changes nothing on node %s", op.NodeID)
		}
		if err := checkUnique(pre, &n); err != nil {
			return nil, err
		}
		b.putNode(&n)
	case OpAddApprover:
		a := op.Approver
		if err := validateApprover(&a); err != nil {
			return nil, err
		}
		if pre.recovery.Has(a.PublicKey) {
			return nil, errorf(IllegalOperation, "add_approver: the key of %s is a recovery key", a.ID)
		}
		for _, x := range pre.approvers {
			if x.ID == a.ID {
				return nil, errorf(IllegalOperation, "add_approver: approver %s already exists", a.ID)
			}
			if x.PublicKey == a.PublicKey {
				return nil, errorf(IllegalOperation, "add_approver: the key of %s is already approver %s's", a.ID, x.ID)
			}
		}
		if len(pre.approvers)+1 > l.MaxApprovers {
			return nil, errorf(LimitExceeded, "add_approver: the maximum of %d approvers is reached", l.MaxApprovers)
		}
		b.setApprovers(append(slices.Clone(pre.approvers), a))
	case OpRemoveApprover:
		i := slices.IndexFunc(pre.approvers, func(a Approver) bool { return a.ID == op.ApproverID })
		if i < 0 {
			return nil, errorf(IllegalOperation, "remove_approver: no approver %q", op.ApproverID)
		}
		b.setApprovers(slices.Delete(slices.Clone(pre.approvers), i, i+1))
		if uint64(len(b.s.approvers)) < pre.threshold {
			return nil, errorf(BadThreshold, "remove_approver: %d approvers would remain, below the threshold of %d", len(b.s.approvers), pre.threshold)
		}
		if b.s.owners() == 0 {
			return nil, errorf(OwnerRequired, "remove_approver: %s is the last owner", op.ApproverID)
		}
	case OpSetPolicy:
		p := op.Policy.Clone()
		if p == nil {
			p = &Policy{Rules: []Rule{}}
		}
		enc := policyEnc
		if enc == nil {
			enc = EncodePolicy(p)
		}
		if err := validatePolicy(p, enc, l); err != nil {
			return nil, prefixErr(err, "set_policy: ")
		}
		if pre.policy != nil && digestPolicy(enc) == pre.policyDigest {
			return nil, errorf(IllegalOperation, "set_policy: the policy is already this one: the update changes nothing")
		}
		b.setPolicy(p, enc)
	case OpSetRecovery:
		r := op.Recovery.Clone()
		if err := validateRecovery(r, pre.approvers, l); err != nil {
			return nil, prefixErr(err, "set_recovery: ")
		}
		if pre.recovery != nil && slices.Equal(r.Keys, pre.recovery.Keys) && r.Threshold == pre.recovery.Threshold {
			return nil, errorf(IllegalOperation, "set_recovery: the recovery set is already this one: the update changes nothing")
		}
		b.setRecovery(r)
	case OpRecover:
		if pre.recovery == nil {
			return nil, errorf(IllegalOperation, "recover: this network has no recovery keys (set_recovery declares them)")
		}
		if err := setApproverSet(b, "recover", op.Approvers, op.Threshold, l); err != nil {
			return nil, err
		}
		for _, a := range op.Approvers {
			if pre.recovery.Has(a.PublicKey) {
				return nil, errorf(IllegalOperation, "recover: the key of approver %s is a recovery key", a.ID)
			}
		}
	case OpSetThreshold:
		if op.Threshold < 1 || op.Threshold > uint64(len(pre.approvers)) {
			return nil, errorf(BadThreshold, "set_threshold: %d is not between 1 and the %d approvers", op.Threshold, len(pre.approvers))
		}
		if op.Threshold == pre.threshold {
			return nil, errorf(IllegalOperation, "set_threshold: the threshold is already %d", op.Threshold)
		}
		b.s.threshold = op.Threshold
	default:
		return nil, errorf(UnknownSchema, "unknown operation type %q", op.Type)
	}
	return b, nil
}

// setApproverSet makes as, with threshold t, the whole approver set (a
// genesis, a recover): within the limit, each valid, keys unique, sorted by
// id, at least one owner, 1 ≤ t ≤ len(as).
func setApproverSet(b *builder, what string, as []Approver, t uint64, l *Limits) error {
	if len(as) > l.MaxApprovers {
		return errorf(LimitExceeded, "%s: %d approvers exceed the limit of %d", what, len(as), l.MaxApprovers)
	}
	if t < 1 || t > uint64(len(as)) {
		return errorf(BadThreshold, "%s: threshold %d is not between 1 and the %d approvers", what, t, len(as))
	}
	keys := map[ApproverKey]bool{}
	for i := range as {
		a := &as[i]
		if err := validateApprover(a); err != nil {
			return err
		}
		if keys[a.PublicKey] {
			return errorf(IllegalOperation, "%s: approver %s reuses another approver's key", what, a.ID)
		}
		keys[a.PublicKey] = true
	}
	if !sortedUnique(as, func(x, y Approver) int { return cmpString(x.ID, y.ID) }) {
		return errorf(NonCanonical, "%s: approvers are not sorted by id and unique", what)
	}
	b.setApprovers(slices.Clone(as))
	if b.s.owners() == 0 {
		return errorf(OwnerRequired, "%s: at least one approver must be an owner", what)
	}
	b.s.threshold = t
	return nil
}

// validateRecovery checks a recovery set (§14.3): 1 to MaxApprovers keys,
// none all zero or of small order (as approver keys), sorted by their text form and unique, none an approver's
// key, and 1 ≤ Threshold ≤ len(Keys).
func validateRecovery(r *Recovery, approvers []Approver, l *Limits) error {
	if r == nil || len(r.Keys) == 0 {
		return errorf(IllegalOperation, "the recovery set has no keys")
	}
	if len(r.Keys) > l.MaxApprovers {
		return errorf(LimitExceeded, "%d recovery keys exceed the limit of %d", len(r.Keys), l.MaxApprovers)
	}
	if r.Threshold < 1 || r.Threshold > uint64(len(r.Keys)) {
		return errorf(BadThreshold, "recovery threshold %d is not between 1 and the %d recovery keys", r.Threshold, len(r.Keys))
	}
	for i, k := range r.Keys {
		if k == (ApproverKey{}) {
			return errorf(IllegalOperation, "recovery key %d is all zeroes", i+1)
		}
		if smallOrderKey(k) {
			return errorf(IllegalOperation, "recovery key %s is a small-order point, whose signatures anyone can make", k)
		}
		if i > 0 && cmpString(r.Keys[i-1].String(), k.String()) >= 0 {
			return errorf(NonCanonical, "recovery keys are not sorted and unique")
		}
		for _, a := range approvers {
			if a.PublicKey == k {
				return errorf(IllegalOperation, "recovery key %s is approver %s's key", k, a.ID)
			}
		}
	}
	return nil
}

func reduceGenesis(b *builder, pre *State, op *Operation, l *Limits) error {
	if pre.epoch != 0 {
		return errorf(IllegalOperation, "genesis applies only to the empty state, not epoch %d", pre.epoch)
	}
	if err := setApproverSet(b, "genesis", op.Approvers, op.Threshold, l); err != nil {
		return err
	}
	if op.Recovery != nil {
		r := op.Recovery.Clone()
		if err := validateRecovery(r, op.Approvers, l); err != nil {
			return prefixErr(err, "genesis: ")
		}
		b.setRecovery(r)
	}
	if len(op.Nodes) > l.MaxNodes {
		return errorf(LimitExceeded, "genesis: %d nodes exceed the limit of %d", len(op.Nodes), l.MaxNodes)
	}
	if !sortedUnique(op.Nodes, func(x, y Node) int { return cmpString(x.ID, y.ID) }) {
		return errorf(NonCanonical, "genesis: nodes are not sorted by id and unique")
	}
	nodeKeys := make(map[NodeKey]string, len(op.Nodes))
	addrs := make(map[netip.Addr]string, len(op.Nodes))
	for i := range op.Nodes {
		n := op.Nodes[i].Clone()
		if err := validateNode(&n, l); err != nil {
			return err
		}
		if n.Status != StatusActive {
			return errorf(IllegalOperation, "genesis: node %s must be active", n.ID)
		}
		if other, dup := nodeKeys[n.PublicKey]; dup {
			return errorf(IllegalOperation, "genesis: nodes %s and %s share a public key", other, n.ID)
		}
		nodeKeys[n.PublicKey] = n.ID
		for _, p := range n.Addresses {
			if other, dup := addrs[p.Addr()]; dup {
				return errorf(IllegalOperation, "genesis: nodes %s and %s share address %s", other, n.ID, p.Addr())
			}
			addrs[p.Addr()] = n.ID
		}
		b.putNode(&n)
	}
	if op.Policy != nil {
		p := op.Policy.Clone()
		enc := EncodePolicy(p)
		if err := validatePolicy(p, enc, l); err != nil {
			return prefixErr(err, "genesis: ")
		}
		b.setPolicy(p, enc)
	}
	return nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func existing(pre *State, op *Operation) (*Node, error) {
	n, ok := pre.node(op.NodeID)
	if !ok {
		return nil, errorf(IllegalOperation, "%s: no node %q", op.Type, op.NodeID)
	}
	return n, nil
}

// checkUnique rejects n if another node of pre has its public key or one of
// its mesh addresses. Mesh addresses are host prefixes, so overlap is
// equality of addresses. Only the nodes that may have either are compared
// (nodeSeq.mayHold).
func checkUnique(pre *State, n *Node) error {
	for o := range pre.nodes.mayHold(n.PublicKey, n.Addresses) {
		if o.ID == n.ID {
			continue
		}
		if o.PublicKey == n.PublicKey {
			return errorf(IllegalOperation, "node %s would share its public key with node %s", n.ID, o.ID)
		}
		if p, ok := overlapsAny(n.Addresses, o.Addresses); ok {
			return errorf(IllegalOperation, "node %s would share address %s with node %s", n.ID, p.Addr(), o.ID)
		}
	}
	return nil
}

func equalNode(a, b *Node) bool {
	return a.ID == b.ID && a.PublicKey == b.PublicKey && a.Owner == b.Owner && a.Status == b.Status &&
		slices.Equal(a.Addresses, b.Addresses) && slices.Equal(a.Endpoints, b.Endpoints) &&
		slices.Equal(a.Tags, b.Tags) && slices.Equal(a.Routes, b.Routes)
}
