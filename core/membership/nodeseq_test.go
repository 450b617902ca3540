package membership

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestNodeSeqAgainstSortedSlice drives node sequences through random
// inserts, replacements and deletions — in runs long enough to split
// chunks and to empty them — beside a plain sorted list, and checks after
// every builder: the same nodes and leaves in the same order, lookups,
// the count, the chunks' bounds, the leaves' digest, the routing nodes
// (tags come and go with replacements) and each chunk's count of them,
// and that the sequence built from was not changed.
func TestNodeSeqAgainstSortedSlice(t *testing.T) {
	type entry struct {
		n    *Node
		leaf [32]byte
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var q nodeSeq
	var ref []entry
	leafOf := func(n *Node, v int) [32]byte { return sha256.Sum256([]byte(fmt.Sprintf("%s/%d", n.ID, v))) }
	type snapshot struct {
		q   nodeSeq
		ref []entry
	}
	var kept []snapshot
	for round := range 400 {
		b := seqBuilder{q: q}
		ref = slices.Clone(ref) // the last snapshot keeps its own
		ops := 1 + rng.IntN(8)
		if round%50 == 0 {
			ops = 600 // a burst: splits chunks, or empties them
		}
		for range ops {
			id := fmt.Sprintf("n%04d", rng.IntN(3000))
			if rng.IntN(3) == 0 && round%100 > 50 { // deletion-heavy stretches
				b.delete(id)
				if i, ok := slices.BinarySearchFunc(ref, id, func(e entry, id string) int { return strings.Compare(e.n.ID, id) }); ok {
					ref = slices.Delete(ref, i, i+1)
				}
				continue
			}
			n := &Node{ID: id, Tags: [][]string{nil, {"web"}, {TagRouter}, {TagExit, "web"}}[rng.IntN(4)]}
			leaf := leafOf(n, round)
			b.put(n, leaf)
			i, ok := slices.BinarySearchFunc(ref, id, func(e entry, id string) int { return strings.Compare(e.n.ID, id) })
			if ok {
				ref[i] = entry{n, leaf}
			} else {
				ref = slices.Insert(ref, i, entry{n, leaf})
			}
		}
		q = b.q
		kept = append(kept, snapshot{q, ref})
		for _, s := range []snapshot{kept[len(kept)-1], kept[rng.IntN(len(kept))]} { // the new one, and an older one unchanged
			var got []entry
			for n, leaf := range s.q.all {
				got = append(got, entry{n, [32]byte(leaf)})
			}
			if len(got) != len(s.ref) || s.q.len() != len(s.ref) {
				t.Fatalf("round %d: %d nodes (count %d), want %d", round, len(got), s.q.len(), len(s.ref))
			}
			var leaves []byte
			for i := range got {
				if got[i].n != s.ref[i].n || got[i].leaf != s.ref[i].leaf {
					t.Fatalf("round %d: node %d is %s, want %s", round, i, got[i].n.ID, s.ref[i].n.ID)
				}
				n, leaf, ok := s.q.get(got[i].n.ID)
				if !ok || n != got[i].n || !bytes.Equal(leaf, got[i].leaf[:]) {
					t.Fatalf("round %d: get(%s) = %v, %v", round, got[i].n.ID, n, ok)
				}
				leaves = append(leaves, s.ref[i].leaf[:]...)
			}
			if _, _, ok := s.q.get("n9999"); ok {
				t.Fatalf("round %d: get of a node never put found one", round)
			}
			want := sha256.Sum256(append([]byte(domainNodes), leaves...))
			if digestLeavesOf(&s.q) != Hash(want) {
				t.Fatalf("round %d: the leaves' digest differs from that of the same leaves in one piece", round)
			}
			for i, c := range s.q.chunks {
				if len(c.nodes) == 0 || len(c.nodes) > 2*chunkNodes || len(c.leaves) != 32*len(c.nodes) {
					t.Fatalf("round %d: chunk %d holds %d nodes, %d leaf bytes", round, i, len(c.nodes), len(c.leaves))
				}
				if c.routing != countRouting(c.nodes) {
					t.Fatalf("round %d: chunk %d counts %d routing nodes, holds %d", round, i, c.routing, countRouting(c.nodes))
				}
			}
			var routing, wantRouting []*Node
			for n := range s.q.routingNodes {
				routing = append(routing, n)
			}
			for _, e := range s.ref {
				if slices.Contains(e.n.Tags, TagRouter) || slices.Contains(e.n.Tags, TagExit) {
					wantRouting = append(wantRouting, e.n)
				}
			}
			if !slices.Equal(routing, wantRouting) {
				t.Fatalf("round %d: %d routing nodes yielded, want %d", round, len(routing), len(wantRouting))
			}
		}
	}
}
