package membership

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"net/netip"
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
			// Keys and addresses from small pools, so that replacements
			// change them (and leave them) and chunks share them; now and
			// then a prefix wider than a host.
			key := NodeKey{byte(rng.IntN(200)), 7}
			addrs := []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{100, 64, byte(rng.IntN(4)), byte(rng.IntN(250))}), 32)}
			switch rng.IntN(40) {
			case 0:
				if id < "n0300" { // wide prefixes in the first chunks only
					addrs = append(addrs, netip.MustParsePrefix("10.0.0.0/8"))
				}
			case 1:
				addrs = append(addrs, netip.PrefixFrom(netip.AddrFrom16([16]byte{0xfd, 15: byte(rng.IntN(250))}), 128))
			}
			n := &Node{ID: id, PublicKey: key, Addresses: addrs, Tags: [][]string{nil, {"web"}, {TagRouter}, {TagExit, "web"}}[rng.IntN(4)]}
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
				if want := filterOf(c.nodes); c.held.wide != want.wide {
					t.Fatalf("round %d: chunk %d counts %d wide addresses, holds %d", round, i, c.held.wide, want.wide)
				}
				for _, n := range c.nodes {
					if !c.held.has(keyFingerprint(n.PublicKey)) {
						t.Fatalf("round %d: chunk %d's filter lacks the key of %s", round, i, n.ID)
					}
					for _, p := range n.Addresses {
						if p.IsSingleIP() && !c.held.has(addrFingerprint(p.Addr())) {
							t.Fatalf("round %d: chunk %d's filter lacks %s of %s", round, i, p, n.ID)
						}
					}
				}
			}
			// mayHold yields every node with the key or an address asked
			// for (a sample), and — in chunks without wide prefixes — few
			// of the others.
			for range min(8, len(s.ref)) {
				e := s.ref[rng.IntN(len(s.ref))]
				if !slices.Contains(slices.Collect(s.q.mayHold(e.n.PublicKey, nil)), e.n) {
					t.Fatalf("round %d: mayHold(key of %s) does not yield it", round, e.n.ID)
				}
				for _, p := range e.n.Addresses {
					if !slices.Contains(slices.Collect(s.q.mayHold(NodeKey{255}, []netip.Prefix{p})), e.n) {
						t.Fatalf("round %d: mayHold(%s, of %s) does not yield it", round, p, e.n.ID)
					}
				}
			}
			passed := map[*Node]bool{}
			for n := range s.q.mayHold(NodeKey{250, 7}, []netip.Prefix{netip.MustParsePrefix("100.64.9.9/32")}) {
				passed[n] = true
			}
			narrow, yielded := 0, 0
			for _, c := range s.q.chunks {
				if c.held.wide == 0 {
					narrow += len(c.nodes)
					for _, n := range c.nodes {
						yielded += b2i(passed[n])
					}
				}
			}
			if narrow > 4*chunkNodes && yielded > narrow/4 {
				t.Fatalf("round %d: mayHold of an absent key and address yields %d of the %d nodes in chunks without wide prefixes", round, yielded, narrow)
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
