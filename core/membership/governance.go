package membership

// NeedsResultingSet reports whether an update of this operation needs, besides
// the pre-state's threshold, a threshold of the resulting approver set:
// genesis and every approver-set or threshold change (SPEC §3).
func (op OpType) NeedsResultingSet() bool { return op == OpGenesis || op.governs() }
