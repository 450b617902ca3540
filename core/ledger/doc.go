// Package ledger keeps a node's trusted membership durable and
// tamper-evident in an untrusted hostapi.Store.
//
// The store holds bytes; the ledger verifies everything it reads back. Its
// log holds one entry per applied update, entry n being the update of epoch
// n, each entry carrying the hash of the previous one. A snapshot of the full
// state is written every SnapshotEvery entries (in the background) and on
// Close. Outside the
// store's directory the ledger keeps a high-water mark (the highest epoch,
// root and entry hash this node has ever trusted for that directory), so
// restoring an old copy of the whole directory is detected.
//
// Open re-verifies everything: every entry's hash link and index, every
// update's signatures and chain from the (pinned) genesis, the snapshot
// against the replayed state, and the head against the high-water mark. Any
// failure puts the ledger in restricted-safe mode (docs/restricted-mode.md):
// it stays usable for reporting, refuses every update that would add trust
// with RESTRICTED_MODE, and leaves the mode only through recovery (Restore
// from a verified log).
package ledger
