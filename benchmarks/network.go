package benchmarks

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// Threshold and Signers describe every benchmark network: approvers a1
// (owner) to a5, threshold 3, so a one-member change carries 3 signatures.
const Threshold = 3

// Signers are the approvers who sign every update after the genesis.
var Signers = []string{"a1", "a2", "a3"}

// Clock is the time every benchmark network lives at: updates are created
// then, valid for an hour, and accepted against it.
var Clock = membershiptest.Epoch0

// Now returns Clock, for ledger.Config.Now.
func Now() time.Time { return Clock }

// approvers returns a1 (owner) to a5.
func approvers() []membershiptest.Approver {
	as := []membershiptest.Approver{membershiptest.NewApprover("a1", membership.RoleOwner)}
	for i := 2; i <= 5; i++ {
		as = append(as, membershiptest.NewApprover(fmt.Sprintf("a%d", i), membership.RoleApprover))
	}
	return as
}

// geneses caches the signed genesis of each network size: building and
// signing a 10,000-member genesis is setup, not what is measured.
var geneses = struct {
	sync.Mutex
	m map[int]*membership.SignedUpdate
}{m: map[int]*membership.SignedUpdate{}}

// Network returns a fresh 3-of-5 network "bench" whose genesis holds
// members generated nodes (membershiptest.Node(membershiptest.NodeID(i), i)),
// signed by all five approvers and applied to its chain. The genesis
// update is built once per process and size; every call gets its own chain.
func Network(tb testing.TB, members int) *membershiptest.Network {
	tb.Helper()
	geneses.Lock()
	g, ok := geneses.m[members]
	geneses.Unlock()
	if !ok {
		net := membershiptest.NewWith(tb, "bench", Threshold, approvers(), members)
		g = net.Log[0]
		geneses.Lock()
		geneses.m[members] = g
		geneses.Unlock()
		return net
	}
	net := &membershiptest.Network{Approvers: map[string]membershiptest.Approver{}, Chain: membership.NewChain("bench"), Now: Clock}
	for _, a := range approvers() {
		net.Approvers[a.ID] = a
	}
	net.MustApply(tb, g)
	return net
}

// AddNode returns add_node of a new member (id "x" + i, address derived
// from i; i must be below 65536 and unused by the network's own nodes)
// proposed against the network's head and signed by Signers. It does not
// apply it.
func AddNode(tb testing.TB, net *membershiptest.Network, i int) *membership.SignedUpdate {
	tb.Helper()
	u := net.Propose(tb, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node(fmt.Sprintf("x%05d", i), i)})
	return net.Sign(tb, u, Signers...)
}
