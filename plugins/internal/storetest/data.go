package storetest

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
)

// Deterministic test data: the child of a crash test and its parent derive
// the same bytes from an index without talking to each other.

// crashEntry is the data of log entry i in the crash test: mostly a few KiB,
// every seventh entry a quarter MiB so that kills land inside writes.
func crashEntry(i uint64) []byte {
	c := rand.NewChaCha8(seed('e', i))
	r := rand.New(c)
	n := 1 + r.IntN(4<<10)
	if i%7 == 0 {
		n = 256<<10 + r.IntN(1<<10)
	}
	return fill(c, n)
}

// crashSnapshot is the data of the k-th snapshot in the crash test.
func crashSnapshot(k uint64) []byte {
	c := rand.NewChaCha8(seed('s', k))
	return fill(c, 64<<10+rand.New(c).IntN(1<<20))
}

// sized returns n deterministic bytes that depend on tag.
func sized(tag uint64, n int) []byte {
	return fill(rand.NewChaCha8(seed('z', tag)), n)
}

// small is short, readable entry data for the functional cases.
func small(i uint64) []byte { return fmt.Appendf(nil, "entry %d", i) }

func seed(kind byte, i uint64) [32]byte {
	var s [32]byte
	s[0] = kind
	binary.BigEndian.PutUint64(s[1:9], i)
	return s
}

func fill(c *rand.ChaCha8, n int) []byte {
	b := make([]byte, n)
	c.Read(b)
	return b
}
