package membership

// NeedsResultingSet reports whether an update of this operation needs, besides
// the pre-state's threshold, a threshold of the resulting approver set:
// genesis and every approver-set or threshold change (SPEC §3).
func (op OpType) NeedsResultingSet() bool { return op == OpGenesis || op.governs() }

// ValidID reports whether s is a valid network, node or approver ID: 1–63
// bytes of [a-z0-9._-], starting with a letter or digit. Configuration and
// tools check ids with it so they agree with the engine.
func ValidID(s string) bool { return validID(s) }

// SchemaFor returns the schema version an update applying op to pre must
// have (encoding doc §13.2, §14.2, §15): 4 for resolve_fork, whatever the
// state; 3 for set_recovery and recover, for a
// genesis carrying a recovery set, and for every update of a state that
// has one; else 2 for set_policy, for a genesis carrying a policy, and for
// every update of a state that has a policy; else 1.
// NewUpdate writes it; Evaluate refuses any other (ILLEGAL_OPERATION).
func SchemaFor(pre *State, op *Operation) uint64 {
	switch {
	case op.Type == OpResolveFork:
		return 4
	case op.Type == OpSetRecovery || op.Type == OpRecover || op.Type == OpGenesis && op.Recovery != nil || pre.recovery != nil:
		return 3
	case op.Type == OpSetPolicy || op.Type == OpGenesis && op.Policy != nil || pre.policy != nil:
		return 2
	}
	return 1
}
