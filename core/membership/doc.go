// Package membership is the trust engine of Rustynet: the canonical records
// of a network's membership and access policy, their encoding (schema
// version 1, frozen, and version 2, which adds the policy), the state root,
// and the pure reducer that decides whether a signed update may be applied.
//
// Everything here is deterministic and free of I/O: the clock and the random
// source are injected. A node verifies every update itself with Evaluate (or
// Chain.Apply, which adds replay protection) and changes nothing on any
// error; errors carry the stable codes of SPEC §3 (see Code).
//
// The access policy is a record like the others (Policy, set by set_policy,
// covered by the state root); what it means — how rules select traffic and
// compile to a packet filter — is package core/policy's.
//
// The encoding and hashing input formats are documented, with golden
// vectors, in docs/membership-encoding.md.
package membership
