package e2e

import (
	"time"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// RogueGenesis returns a genesis of a network "rogue", approved by an
// outsider "mallory" alone, whose members are self and the given nodes of
// the cluster (with their real keys, addresses and endpoints). A daemon
// started with it (NodeConfig.Genesis) believes the others are its peers
// and tries to reach them: what an attacker who holds a node key, but no
// quorum, can do. It does not change the cluster.
func (c *Cluster) RogueGenesis(self *Node, peers ...*Node) *membership.SignedUpdate {
	c.tb.Helper()
	mallory := membershiptest.NewApprover("mallory", membership.RoleOwner)
	nodes := []membership.Node{self.Member()}
	for _, p := range peers {
		nodes = append(nodes, p.Member())
	}
	g, err := membership.NewGenesis("rogue", 1, []membership.Approver{mallory.Approver}, nodes, membership.DefaultPolicy(),
		membership.Proposal{CreatedAt: time.Now(), Validity: 24 * time.Hour})
	if err != nil {
		c.tb.Fatalf("rogue genesis: %v", err)
	}
	if err := g.Sign(mallory.Private); err != nil {
		c.tb.Fatal(err)
	}
	return g
}
