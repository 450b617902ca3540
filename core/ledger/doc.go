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
// The mark obeys the rule of the state directory's files (package
// fileperm): a mark that is a symbolic link, is open to group or others or
// is owned by another user, or a directory holding it that others may
// write or another user owns, makes Open fail with hostapi.ErrPermission
// naming it. It is written through its open
// directory, never through a link. A failed write (a full disk) never
// undoes an applied update, which is durable in the log: the mark lags,
// Status.HighWaterError says why, and the write is retried in the
// background (from markRetryFirst, doubling up to markRetryMax) until it,
// or a later commit's, succeeds. A ledger opened ReadFirst (by a command
// that may only read) writes no mark and no snapshot until it applies.
//
// Open re-verifies everything: every entry's hash link and index, every
// update's signatures and chain from the (pinned) genesis, the snapshot
// against the replayed state, and the head against the high-water mark. Any
// failure puts the ledger in restricted-safe mode (docs/restricted-mode.md):
// it stays usable for reporting, refuses every update that would add trust
// with RESTRICTED_MODE, and leaves the mode only through recovery (Restore
// from a verified log).
//
// Memory does not grow with the decoded log: the ledger keeps per entry
// its state root and entry hash (32 bytes each) and the decoded updates of
// only the newest 1,024 entries; older ones are read back from the store
// when asked for and accepted only if their stored bytes hash to the entry
// hash kept for them (window.go, benchmarks/daemon/ledger-memory.md).
package ledger
