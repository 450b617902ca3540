package membership

import (
	"crypto/sha256"
	"hash"
	"iter"
	"net/netip"
	"slices"
	"sort"
	"strings"
)

// nodeSeq is a state's nodes sorted by ID, each with its leaf (the SHA-256
// of its canonical record), held in chunks so that a new state copies
// only what an update changes. A State never changes, so every update
// derives a new sequence: as one flat array, that copied every node
// pointer and leaf (400 KB at 10,000 members, on every update and at
// every step of a cold start's replay); in chunks it copies the list of
// chunks (N/chunkNodes pointers) and the one or two chunks it changes.
//
// The zero value is empty. A nodeSeq and its chunks are immutable once
// built; a seqBuilder derives the next.
type nodeSeq struct {
	chunks []*nodeChunk // each non-empty; in ID order across chunks
	count  int
}

// nodeChunk is a run of consecutive nodes and their leaves.
type nodeChunk struct {
	nodes  []*Node
	leaves []byte // leaves[32*i : 32*i+32] is nodes[i]'s
	// routing counts the nodes tagged router or exit, so that a scan
	// for them (RoutingNodes, on every update) skips the chunks without.
	routing int
	// held is a Bloom filter of the public keys and addresses of the
	// chunk's nodes, so that checkUnique (on every add or change of a
	// node) skips the chunks that cannot hold a node's key or address.
	held keyFilter
}

// routingNode reports whether n is tagged router or exit: a node whose
// routes or exit service other nodes' data planes depend on.
func routingNode(n *Node) bool { return n.HasTag(TagRouter) || n.HasTag(TagExit) }

// countRouting returns how many of ns are routing nodes.
func countRouting(ns []*Node) int {
	k := 0
	for _, n := range ns {
		if routingNode(n) {
			k++
		}
	}
	return k
}

// b2i is 1 for true and 0 for false.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// newChunk returns the chunk of nodes (which it then holds) and their
// leaves.
func newChunk(nodes []*Node, leaves []byte) *nodeChunk {
	return &nodeChunk{nodes: nodes, leaves: leaves, routing: countRouting(nodes), held: filterOf(nodes)}
}

// chunkNodes is a chunk's size after a split; a chunk splits in two when
// an insert takes it past twice this. Copying one chunk is then at most
// ~10 KB, and the chunk list stays short (80 pointers at 10,000 nodes).
const chunkNodes = 128

func (q *nodeSeq) len() int { return q.count }

// search returns the chunk and the position in it of node id, or where
// it would be inserted, and whether it is there. In an empty sequence it
// returns (0, 0, false) and there is no chunk 0.
func (q *nodeSeq) search(id string) (ci, j int, found bool) {
	if len(q.chunks) == 0 {
		return 0, 0, false
	}
	// The first chunk whose last node sorts at or after id; none: the end
	// of the last chunk.
	ci = sort.Search(len(q.chunks), func(k int) bool {
		c := q.chunks[k]
		return c.nodes[len(c.nodes)-1].ID >= id
	})
	if ci == len(q.chunks) {
		ci--
		return ci, len(q.chunks[ci].nodes), false
	}
	j, found = slices.BinarySearchFunc(q.chunks[ci].nodes, id, func(n *Node, id string) int { return strings.Compare(n.ID, id) })
	return ci, j, found
}

// get returns node id and its leaf (the sequence's own: callers must not
// modify either).
func (q *nodeSeq) get(id string) (*Node, []byte, bool) {
	ci, j, found := q.search(id)
	if !found {
		return nil, nil, false
	}
	c := q.chunks[ci]
	return c.nodes[j], c.leaves[32*j : 32*j+32], true
}

// all yields every node and its leaf in ID order.
func (q *nodeSeq) all(yield func(*Node, []byte) bool) {
	for _, c := range q.chunks {
		for j, n := range c.nodes {
			if !yield(n, c.leaves[32*j:32*j+32]) {
				return
			}
		}
	}
}

// routingNodes yields the routing nodes (routingNode) in ID order,
// skipping the chunks that hold none.
func (q *nodeSeq) routingNodes(yield func(*Node) bool) {
	for _, c := range q.chunks {
		if c.routing == 0 {
			continue
		}
		for _, n := range c.nodes {
			if routingNode(n) && !yield(n) {
				return
			}
		}
	}
}

// mayHold yields, in ID order, the nodes of the chunks that may hold a
// node with public key k or one of the addresses of as (host prefixes;
// with any other prefix in as, every node): every node that has k or one
// of those addresses is among them.
func (q *nodeSeq) mayHold(k NodeKey, as []netip.Prefix) iter.Seq[*Node] {
	probe := func(*nodeChunk) bool { return true }
	if !slices.ContainsFunc(as, func(p netip.Prefix) bool { return !p.IsSingleIP() }) {
		probe = func(c *nodeChunk) bool {
			if c.held.wide > 0 || c.held.has(keyFingerprint(k)) {
				return true
			}
			for _, p := range as {
				if c.held.has(addrFingerprint(p.Addr())) {
					return true
				}
			}
			return false
		}
	}
	return func(yield func(*Node) bool) {
		for _, c := range q.chunks {
			if !probe(c) {
				continue
			}
			for _, n := range c.nodes {
				if !yield(n) {
					return
				}
			}
		}
	}
}

// writeLeaves writes every leaf, in order, to h.
func (q *nodeSeq) writeLeaves(h hash.Hash) {
	for _, c := range q.chunks {
		h.Write(c.leaves)
	}
}

// seqBuilder derives a new nodeSeq from a base by copy-on-write: the
// chunk list is copied on the first change, and each chunk the first
// time the builder changes it.
type seqBuilder struct {
	q      nodeSeq
	copied bool
	owned  []*nodeChunk // chunks this builder made, changed in place
}

func (b *seqBuilder) own(ci int) *nodeChunk {
	if !b.copied {
		b.q.chunks = slices.Clone(b.q.chunks)
		b.copied = true
	}
	c := b.q.chunks[ci]
	if slices.Contains(b.owned, c) {
		return c
	}
	// Room for one more: an update most often adds a node.
	cp := &nodeChunk{
		nodes:   append(make([]*Node, 0, len(c.nodes)+1), c.nodes...),
		leaves:  append(make([]byte, 0, len(c.leaves)+32), c.leaves...),
		routing: c.routing,
		held:    c.held,
	}
	b.q.chunks[ci] = cp
	b.owned = append(b.owned, cp)
	return cp
}

// put inserts or replaces n (which the sequence then holds) with its leaf.
func (b *seqBuilder) put(n *Node, leaf [32]byte) {
	if len(b.q.chunks) == 0 {
		c := newChunk([]*Node{n}, leaf[:])
		b.q.chunks, b.copied = []*nodeChunk{c}, true
		b.owned = append(b.owned, c)
		b.q.count = 1
		return
	}
	ci, j, found := b.q.search(n.ID)
	c := b.own(ci)
	if found {
		old := c.nodes[j]
		c.routing += b2i(routingNode(n)) - b2i(routingNode(old))
		c.nodes[j] = n
		copy(c.leaves[32*j:], leaf[:])
		if old.PublicKey != n.PublicKey || !slices.Equal(old.Addresses, n.Addresses) {
			c.held = filterOf(c.nodes)
		}
		return
	}
	c.routing += b2i(routingNode(n))
	c.held.addNode(n)
	c.nodes = slices.Insert(c.nodes, j, n)
	c.leaves = slices.Insert(c.leaves, 32*j, leaf[:]...)
	b.q.count++
	if len(c.nodes) > 2*chunkNodes {
		half := len(c.nodes) / 2
		lo := newChunk(slices.Clone(c.nodes[:half]), slices.Clone(c.leaves[:32*half]))
		hi := newChunk(slices.Clone(c.nodes[half:]), slices.Clone(c.leaves[32*half:]))
		b.q.chunks = slices.Replace(b.q.chunks, ci, ci+1, lo, hi)
		b.owned = append(b.owned, lo, hi)
	}
}

// delete removes node id if the sequence holds it.
func (b *seqBuilder) delete(id string) {
	ci, j, found := b.q.search(id)
	if !found {
		return
	}
	c := b.own(ci)
	c.routing -= b2i(routingNode(c.nodes[j]))
	c.nodes = slices.Delete(c.nodes, j, j+1)
	c.leaves = slices.Delete(c.leaves, 32*j, 32*j+32)
	c.held = filterOf(c.nodes)
	b.q.count--
	if len(c.nodes) == 0 {
		b.q.chunks = slices.Delete(b.q.chunks, ci, ci+1)
	}
}

// digestLeavesOf is digestLeaves over q's leaves, without joining them.
func digestLeavesOf(q *nodeSeq) Hash {
	h := sha256.New()
	h.Write([]byte(domainNodes))
	q.writeLeaves(h)
	return Hash(h.Sum(nil))
}
