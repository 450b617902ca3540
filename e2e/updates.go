package e2e

import (
	"time"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// Propose builds the unsigned update applying op to the approvers' current
// state, created now and valid for an hour. It does not commit it.
func (c *Cluster) Propose(op membership.Operation) *membership.SignedUpdate {
	c.tb.Helper()
	return c.ProposeAt(op, time.Now())
}

// ProposeAt is Propose with the update's created_at set to created.
func (c *Cluster) ProposeAt(op membership.Operation, created time.Time) *membership.SignedUpdate {
	c.tb.Helper()
	u, err := membership.NewUpdate(c.chain.State(), op, membership.Proposal{CreatedAt: created, Validity: time.Hour})
	if err != nil {
		c.tb.Fatalf("propose %s: %v", op.Type, err)
	}
	return u
}

// Sign adds one signature per id to u and returns u. An id that is not an
// approver of the cluster signs with an outsider's key derived from the id
// (membershiptest.NewApprover), as an attacker or a node would.
func (c *Cluster) Sign(u *membership.SignedUpdate, ids ...string) *membership.SignedUpdate {
	c.tb.Helper()
	for _, id := range ids {
		priv, ok := c.approvers[id]
		if !ok {
			priv = membershiptest.NewApprover(id, membership.RoleApprover).Private
		}
		if err := u.Sign(priv); err != nil {
			c.tb.Fatalf("sign by %s: %v", id, err)
		}
	}
	return u
}

// Commit records u as applied in the approvers' view of the chain (after
// the nodes accepted it). It fails the test if u does not verify there.
func (c *Cluster) Commit(u *membership.SignedUpdate) {
	c.tb.Helper()
	if _, err := c.chain.Apply(u, membership.Options{Now: time.Now()}); err != nil {
		c.tb.Fatalf("committing %s (epoch %d) to the approvers' chain: %v", u.Body.Operation.Type, u.Body.Epoch, err)
	}
	c.log = append(c.log, u)
}

// ApplyAll sends u to each named node through its control API, fails the
// test if any refuses it, and then commits it. A node that answers
// REPLAYED_UPDATE already holds u: a peer handed it over by the exchange
// of heads (core/gossip) while u went to the nodes before it.
func (c *Cluster) ApplyAll(u *membership.SignedUpdate, ids ...string) {
	c.tb.Helper()
	for _, id := range ids {
		if _, err := c.Node(id).Apply(u); err != nil && membership.CodeOf(err) != membership.ReplayedUpdate {
			c.tb.Fatalf("%s refused %s (epoch %d): %v", id, u.Body.Operation.Type, u.Body.Epoch, err)
		}
	}
	c.Commit(u)
}

// Forge returns u with the first signature's bytes altered: the signer is
// a real approver, the signature does not verify.
func Forge(u *membership.SignedUpdate) *membership.SignedUpdate {
	f := *u
	f.Signatures = append([]membership.Signature(nil), u.Signatures...)
	f.Signatures[0].Sig[7] ^= 0x40
	return &f
}
