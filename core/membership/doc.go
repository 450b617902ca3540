// Package membership is the trust engine of Rustynet: the canonical records
// of a network's membership, their frozen v1 encoding, the state root, and
// the pure reducer that decides whether a signed update may be applied.
//
// Everything here is deterministic and free of I/O: the clock and the random
// source are injected. A node verifies every update itself with Evaluate (or
// Chain.Apply, which adds replay protection) and changes nothing on any
// error; errors carry the stable codes of SPEC §3 (see Code).
//
// The encoding and hashing input formats are documented, with golden
// vectors, in docs/membership-encoding.md.
package membership
