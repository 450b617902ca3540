package membership

// NeedsResultingSet reports whether an update of this operation needs, besides
// the pre-state's threshold, a threshold of the resulting approver set:
// genesis and every approver-set or threshold change (SPEC §3).
func (op OpType) NeedsResultingSet() bool { return op == OpGenesis || op.governs() }

// ValidID reports whether s is a valid network, node or approver ID: 1–63
// bytes of [a-z0-9._-], starting with a letter or digit. Configuration and
// tools check ids with it so they agree with the engine.
func ValidID(s string) bool { return validID(s) }
