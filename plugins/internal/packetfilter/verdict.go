package packetfilter

import "strconv"

// Verdict is what the filter decided about a packet from a peer, and why.
type Verdict uint8

// Verdicts: the passes, then the drops.
const (
	// PassUnfiltered: no filter has been set yet.
	PassUnfiltered Verdict = iota + 1
	// PassNew: the packet opens a connection a rule admits.
	PassNew
	// PassTracked: the packet belongs to a tracked connection, opened by
	// the peer and admitted, or opened from this side.
	PassTracked
	// PassRelated: an ICMP error about a tracked connection.
	PassRelated
	// PassFragment: a later fragment of a datagram whose first fragment
	// passed.
	PassFragment

	// DropMalformed: the packet cannot be judged safely (see parse).
	DropMalformed
	// DropNotNew: no tracked connection, and the packet does not open one
	// (a TCP packet without SYN, an ICMP message other than an echo
	// request or an error).
	DropNotNew
	// DropNoRule: the packet opens a connection no rule admits.
	DropNoRule
	// DropTableFull: a rule admits the connection, but the table has no
	// room to track it.
	DropTableFull
	// DropUnrelated: an ICMP error about no tracked connection.
	DropUnrelated
	// DropFragment: a later fragment of no datagram whose first fragment
	// passed.
	DropFragment
	// DropInvalid: the packet does not fit its connection's state.
	DropInvalid

	verdictCount
)

var verdictNames = [verdictCount]string{
	PassUnfiltered: "pass-unfiltered",
	PassNew:        "pass-new",
	PassTracked:    "pass-tracked",
	PassRelated:    "pass-related",
	PassFragment:   "pass-fragment",
	DropMalformed:  "drop-malformed",
	DropNotNew:     "drop-not-new",
	DropNoRule:     "drop-no-rule",
	DropTableFull:  "drop-table-full",
	DropUnrelated:  "drop-unrelated",
	DropFragment:   "drop-fragment",
	DropInvalid:    "drop-invalid",
}

// Pass reports whether the packet passes.
func (v Verdict) Pass() bool { return v >= PassUnfiltered && v <= PassFragment }

// String returns the verdict's name, e.g. "drop-no-rule".
func (v Verdict) String() string {
	if v > 0 && v < verdictCount {
		return verdictNames[v]
	}
	return "verdict-" + strconv.Itoa(int(v))
}
