package conformance

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
)

// Deterministic test data: a case can check what it wrote, and what a
// killed writer may have written, from an index alone.

// entryData returns the data of log entry i of a stream tagged tag: a few
// bytes to a few KiB, every seventh a quarter MiB so that kills land inside
// writes, every byte depending on tag and i.
func entryData(tag string, i uint64) []byte {
	c := rand.NewChaCha8(seed("e"+tag, i))
	n := 1 + rand.New(c).IntN(4<<10)
	if i%7 == 0 {
		n = 256<<10 + rand.New(c).IntN(1<<10)
	}
	return fill(c, n)
}

// snapshotData returns the data of the k-th snapshot of a stream tagged
// tag; sizes alternate between about 3 MiB and 5 MiB so that consecutive
// snapshots differ in length as well as content.
func snapshotData(tag string, k uint64) []byte {
	c := rand.NewChaCha8(seed("s"+tag, k))
	n := 3<<20 + int(k%2)*(2<<20) + rand.New(c).IntN(64<<10)
	return fill(c, n)
}

// sized returns n deterministic bytes tagged tag.
func sized(tag string, n int) []byte {
	return fill(rand.NewChaCha8(seed("z"+tag, uint64(n))), n)
}

// small returns short, readable entry data.
func small(i uint64) []byte { return fmt.Appendf(nil, "entry %d", i) }

func seed(tag string, i uint64) [32]byte {
	var s [32]byte
	n := copy(s[:24], tag)
	s[n%24] ^= 0x80
	binary.BigEndian.PutUint64(s[24:], i)
	return s
}

func fill(c *rand.ChaCha8, n int) []byte {
	b := make([]byte, n)
	_, _ = c.Read(b)
	return b
}
