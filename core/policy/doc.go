// Package policy gives the network's signed access policy its meaning: it
// resolves rules against the trusted membership and compiles them into the
// packet filter a node's backend enforces (docs/policy.md).
//
// The policy document itself — its types, canonical encoding, limits and
// acceptance rules — is part of the signed membership state and lives in
// package membership (schema version 2, docs/membership-encoding.md §13).
// This package is pure: it computes from a *membership.State and a
// *membership.Policy and never changes either; it imports no transport.
//
// The rules of evaluation, in one place:
//
//   - Default deny. A rule only allows; a state without a policy, a policy
//     without rules, and a node that is not an active member allow nothing.
//   - Selectors resolve only against active members (view.go): an unknown,
//     removed or revoked node is never selected, whatever a rule names.
//     Nodes are selected by their mesh addresses.
//   - Mesh rules reach a node's mesh addresses; router rules the part of
//     their prefixes an active router serves, never a mesh address; exit
//     rules the internet (the public space) or their prefixes, never a mesh
//     address or a routed subnet (space.go).
//   - Compile (compile.go) is the ingress filter of one node; Decide
//     (decide.go) the verdict on one connection, the same the receiving
//     node's filter reaches; Check (check.go) what in a policy selects
//     nothing.
//
// The compiled filter describes the packets that may open a connection;
// the backend keeps state so that replies pass (docs/policy.md §3 lists
// what a filter assumes of the backend). The policy file (file.go, TOML)
// is the form people write; Format writes it back.
package policy
