package membership

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// keyFilterWords sizes a keyFilter: 4,096 bits, two per key or address.
// A chunk of 256 nodes (the most before it splits) with one address each
// sets at most 1,024, so a key or address it does not hold passes with a
// chance of about 5 %; at 128 nodes, about 1.5 %.
const keyFilterWords = 64

// keyFilter is a Bloom filter of the public keys and host addresses of a
// run of nodes: a key or address whose bits are not both set is not held
// by any node added to it. Bits are never cleared (a filter may also
// pass keys and addresses of nodes no longer there; it is rebuilt when a
// node leaves or changes its key or addresses). Fingerprints are cheap
// mixes of the bytes, not keyed hashes: chosen keys or addresses can make
// a filter pass more often, which costs a scan, never a wrong answer.
type keyFilter struct {
	bits [keyFilterWords]uint64
	// wide counts the addresses added that are not host prefixes, which
	// the bits do not cover: while any is held, the filter passes all.
	wide int
}

// filterOf returns the filter of ns.
func filterOf(ns []*Node) keyFilter {
	var f keyFilter
	for _, n := range ns {
		f.addNode(n)
	}
	return f
}

// addNode adds n's public key and addresses.
func (f *keyFilter) addNode(n *Node) {
	f.add(keyFingerprint(n.PublicKey))
	for _, p := range n.Addresses {
		if !p.IsSingleIP() {
			f.wide++
			continue
		}
		f.add(addrFingerprint(p.Addr()))
	}
}

func (f *keyFilter) add(fp uint64) {
	i, j := fp%(64*keyFilterWords), (fp>>32)%(64*keyFilterWords)
	f.bits[i/64] |= 1 << (i % 64)
	f.bits[j/64] |= 1 << (j % 64)
}

// has reports whether fp may have been added.
func (f *keyFilter) has(fp uint64) bool {
	i, j := fp%(64*keyFilterWords), (fp>>32)%(64*keyFilterWords)
	return f.bits[i/64]&(1<<(i%64)) != 0 && f.bits[j/64]&(1<<(j%64)) != 0
}

// mix64 is a 64-bit finalizer (splitmix64's): every input bit moves
// about half the output bits.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func keyFingerprint(k NodeKey) uint64 {
	return mix64(binary.LittleEndian.Uint64(k[:8]) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(k[8:16]), 17))
}

// addrFingerprint is the same for equal addresses (netip.Addr's ==; an
// IPv4 address and its IPv4-mapped IPv6 form differ, and may collide).
func addrFingerprint(a netip.Addr) uint64 {
	b := a.As16()
	return mix64(binary.LittleEndian.Uint64(b[:8]) ^ bits.RotateLeft64(mix64(binary.LittleEndian.Uint64(b[8:])), 29))
}
