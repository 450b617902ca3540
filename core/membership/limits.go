package membership

import "time"

// Limits bound what an update may carry and what a state may grow to. They
// are part of acceptance, so every node of a network must use the same
// values: DefaultLimits is the frozen set (v1's, and the policy limits v2
// adds); only tests use others.
//
// Limits never block a removal or a revocation: growth limits (MaxNodes,
// MaxApprovers, per-node list sizes) are checked only on operations that add
// or grow, the policy limits only on the updates that carry a policy (a
// policy never depends on the membership), and every removal body is far
// below MaxUpdateBytes.
type Limits struct {
	MaxUpdateBytes   int // canonical body of any non-genesis update
	MaxGenesisBytes  int // canonical body of a genesis update
	MaxNodes         int
	MaxApprovers     int
	MaxAddresses     int // per node
	MaxEndpoints     int // per node
	MaxTags          int // per node
	MaxRoutes        int // per node
	MaxOwnerLen      int // bytes of Node.Owner
	MaxValidity      time.Duration
	MaxClockSkew     time.Duration // how far created_at may lie in the future
	MaxLogEntries    int           // entries in a portable log file
	MaxEnvelopeExtra int           // bytes an envelope may add around its body

	// Schema version 2: the policy (encoding doc §13.4).
	MaxPolicyBytes       int // canonical policy object
	MaxPolicyUpdateBytes int // canonical body of a set_policy update
	MaxPolicyRules       int // rules in a policy
	MaxRuleSelectors     int // selectors in a rule's src, and in its dst
	MaxRulePorts         int // port specs in a rule
}

// DefaultLimits returns the limits of the encoding doc (§7, §13.4).
func DefaultLimits() Limits {
	return Limits{
		MaxUpdateBytes:   64 << 10,
		MaxGenesisBytes:  16 << 20,
		MaxNodes:         65536,
		MaxApprovers:     64,
		MaxAddresses:     8,
		MaxEndpoints:     8,
		MaxTags:          32,
		MaxRoutes:        256,
		MaxOwnerLen:      128,
		MaxValidity:      90 * 24 * time.Hour,
		MaxClockSkew:     5 * time.Minute,
		MaxLogEntries:    1 << 20,
		MaxEnvelopeExtra: 64 << 10,

		MaxPolicyBytes:       1 << 20,
		MaxPolicyUpdateBytes: 1<<20 + 64<<10,
		MaxPolicyRules:       4096,
		MaxRuleSelectors:     256,
		MaxRulePorts:         64,
	}
}

// MaxForkSides is the most conflicting updates one resolve_fork may
// settle (§15).
const MaxForkSides = 8

// maxSignatures is the most signature entries an update may carry: every
// approver of the pre-state plus one being added. More cannot all be valid,
// so they are refused before any signature is checked.
func (l Limits) maxSignatures() int { return l.MaxApprovers + 1 }
