package e2e

import (
	"crypto/ed25519"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// Options describe a Cluster.
type Options struct {
	// Bin is the rustynet binary (RunWithBinary builds it in TestMain).
	// Required.
	Bin string
	// NetworkID is the network's id; "" means "e2e".
	NetworkID string
	// Approvers is how many approvers the network has: a1 (the owner) to
	// aN. 0 means 3.
	Approvers int
	// Threshold is the genesis threshold; 0 means 2.
	Threshold uint64
	// Members are the ids of the nodes in the genesis. Each gets a node
	// key, a mesh address, ports and a web service, and may be started.
	Members []string
	// ExtraMembers is how many further members the genesis holds that
	// never run (membershiptest.Node records), to make a large network.
	ExtraMembers int
	// Edit, if set, adjusts each of Members' genesis records (endpoints,
	// tags, routes) before the genesis is signed.
	Edit func(*membership.Node)
	// Policy is the genesis's access policy; nil means
	// membership.DefaultPolicy() (every member reaches every member, in
	// the mesh context only).
	Policy *membership.Policy
	// RecoveryKeys, if not 0, declares that many cold recovery keys in the
	// genesis, r1 to rN (keys of membershiptest.NewApprover: Sign with
	// their ids), RecoveryThreshold of which may replace the approvers.
	RecoveryKeys      int
	RecoveryThreshold uint64
}

// Cluster is one test network: its approvers' keys, the chain as the
// approvers know it, and its nodes. A Cluster is not safe for concurrent
// use; the Nodes it returns are (see Node).
type Cluster struct {
	tb   testing.TB
	opts Options
	// Dir is the cluster's directory: the genesis file and one directory
	// per node. It is removed at cleanup.
	Dir string
	tmp string // the daemons' TMPDIR, in Dir
	// Genesis is the signed genesis; GenesisRoot the root it pins.
	Genesis     *membership.SignedUpdate
	GenesisRoot membership.Hash

	approvers map[string]ed25519.PrivateKey
	chain     *membership.Chain
	log       []*membership.SignedUpdate
	nodes     map[string]*Node
	order     []*Node
}

// extraBase is the index of the first extra member's address
// (membershiptest.Node(id, i) → 100.64.x.y from i); cluster nodes use
// indexes 1 to 255.
const extraBase = 256

// New makes a cluster: approvers a1 (owner) to aN, the member nodes, a
// genesis signed by every approver, applied to the cluster's chain and
// written to Dir/genesis.json. Everything it and its nodes create is
// removed, and every daemon stopped, at tb's cleanup.
func New(tb testing.TB, opts Options) *Cluster {
	tb.Helper()
	if testing.Short() {
		tb.Skip("-short: no real daemons (scripts/test.sh runs every end-to-end test)")
	}
	if opts.Bin == "" {
		tb.Fatal("e2e.New: Options.Bin is required")
	}
	if opts.NetworkID == "" {
		opts.NetworkID = "e2e"
	}
	if opts.Approvers == 0 {
		opts.Approvers = 3
	}
	if opts.Threshold == 0 {
		opts.Threshold = 2
	}
	// Not tb.TempDir: its parents are 0700, and a daemon may run as another
	// user (see NodeConfig.RunAs).
	dir, err := os.MkdirTemp("", "rustynet-e2e-")
	if err != nil {
		tb.Fatal(err)
	}
	c := &Cluster{tb: tb, opts: opts, Dir: dir, approvers: map[string]ed25519.PrivateKey{}, nodes: map[string]*Node{}}
	tb.Cleanup(func() {
		c.stopAll()
		if tb.Failed() && os.Getenv("E2E_KEEP") != "" {
			tb.Logf("kept %s (E2E_KEEP is set)", dir)
			return
		}
		os.RemoveAll(dir)
	})
	if err := os.Chmod(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	// The daemons' TMPDIR, where go-plugin puts each plugin's socket
	// directory: a daemon killed with SIGKILL cannot remove its own, and
	// here cleanup does. Open to all as /tmp is, for RunAs daemons.
	c.tmp = filepath.Join(dir, "tmp")
	if err := os.Mkdir(c.tmp, 0o700); err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(c.tmp, 0o1777); err != nil {
		tb.Fatal(err)
	}

	var as []membership.Approver
	for i := 1; i <= opts.Approvers; i++ {
		role := membership.RoleApprover
		if i == 1 {
			role = membership.RoleOwner
		}
		a := membershiptest.NewApprover(fmt.Sprintf("a%d", i), role)
		c.approvers[a.ID] = a.Private
		as = append(as, a.Approver)
	}
	nodes := make([]membership.Node, 0, len(opts.Members)+opts.ExtraMembers)
	for _, id := range opts.Members {
		m := c.AddNode(id).Member()
		if opts.Edit != nil {
			opts.Edit(&m)
		}
		nodes = append(nodes, m)
	}
	for i := range opts.ExtraMembers {
		nodes = append(nodes, membershiptest.Node(ExtraMemberID(i), extraBase+i))
	}
	if opts.Policy == nil {
		opts.Policy = membership.DefaultPolicy()
	}
	var rec *membership.Recovery
	var recIDs []string
	if opts.RecoveryKeys > 0 {
		rec = &membership.Recovery{Threshold: opts.RecoveryThreshold}
		for i := 1; i <= opts.RecoveryKeys; i++ {
			id := fmt.Sprintf("r%d", i)
			recIDs = append(recIDs, id)
			rec.Keys = append(rec.Keys, membershiptest.NewApprover(id, membership.RoleApprover).PublicKey)
		}
	}
	g, err := membership.NewGenesisWithRecovery(opts.NetworkID, opts.Threshold, as, nodes, opts.Policy, rec,
		membership.Proposal{CreatedAt: time.Now(), Validity: 24 * time.Hour})
	if err != nil {
		tb.Fatalf("genesis: %v", err)
	}
	c.Sign(g, append(c.ApproverIDs(), recIDs...)...)
	c.chain = membership.NewChain(opts.NetworkID)
	c.Commit(g)
	c.Genesis, c.GenesisRoot = g, g.Body.NewStateRoot
	if err := os.WriteFile(c.genesisFile(), g.Encode(), 0o644); err != nil {
		tb.Fatal(err)
	}
	return c
}

// ExtraMemberID is the id of the i-th extra member (Options.ExtraMembers).
func ExtraMemberID(i int) string { return fmt.Sprintf("m%05d", i) }

// ApproverIDs returns the approvers' ids, a1 first.
func (c *Cluster) ApproverIDs() []string {
	ids := make([]string, 0, len(c.approvers))
	for i := 1; i <= c.opts.Approvers; i++ {
		ids = append(ids, fmt.Sprintf("a%d", i))
	}
	return ids
}

// Node returns the node id; it fails the test if there is none.
func (c *Cluster) Node(id string) *Node {
	n, ok := c.nodes[id]
	if !ok {
		c.tb.Fatalf("e2e: no node %q in the cluster", id)
	}
	return n
}

// AddNode makes node id: an X25519 key, the next mesh address
// (100.64.0.k/32), a WireGuard port, a SOCKS5 port and a web service on
// 127.0.0.1 that answers "hello from ID". It does not add it to the
// membership or start it.
func (c *Cluster) AddNode(id string) *Node {
	c.tb.Helper()
	if _, dup := c.nodes[id]; dup {
		c.tb.Fatalf("e2e: node %q exists", id)
	}
	k := len(c.order) + 1
	if k >= extraBase {
		c.tb.Fatalf("e2e: at most %d cluster nodes", extraBase-1)
	}
	n := newNode(c, id, netip.PrefixFrom(netip.AddrFrom4([4]byte{100, 64, 0, byte(k)}), 32))
	c.nodes[id] = n
	c.order = append(c.order, n)
	return n
}

// State returns the trusted state as the approvers know it: the genesis
// and every update passed to Commit.
func (c *Cluster) State() *membership.State { return c.chain.State() }

// Log returns the committed log, genesis first.
func (c *Cluster) Log() []*membership.SignedUpdate { return slices.Clone(c.log) }

func (c *Cluster) genesisFile() string { return filepath.Join(c.Dir, "genesis.json") }

// stopAll stops every running node, last started first.
func (c *Cluster) stopAll() {
	for _, n := range slices.Backward(c.order) {
		n.stop(false)
	}
}

// OpenPolicy returns a policy that lets every member reach every member,
// every subnet a router serves and, through an exit node, everywhere
// else, on every protocol and port: for tests of routing rather than of
// policy.
func OpenPolicy() *membership.Policy {
	anything := []membership.PortSpec{membership.AllPorts(membership.ProtoAny)}
	members := []membership.Selector{membership.MembersSelector()}
	everywhere := []membership.Selector{membership.PrefixSelector(netip.MustParsePrefix("0.0.0.0/0")), membership.PrefixSelector(netip.MustParsePrefix("::/0"))}
	return &membership.Policy{Rules: []membership.Rule{
		{Name: "exit", Context: membership.ContextExit, Src: members, Dst: everywhere, Ports: anything},
		{Name: "mesh", Context: membership.ContextMesh, Src: members, Dst: members, Ports: anything},
		{Name: "router", Context: membership.ContextRouter, Src: members, Dst: everywhere, Ports: anything},
	}}
}
