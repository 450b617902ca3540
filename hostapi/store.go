package hostapi

import "context"

// Store is an untrusted, durable byte store for one node's membership trust
// state: one snapshot and one append-only log of entries numbered 1, 2, 3, …
//
// The core verifies everything it reads back (signatures, hash links, roots),
// so a Store needs no knowledge of what the bytes mean; it must only keep
// them exactly, durably and in order. Its contract:
//
//   - Open must be called first; every other method before Open (or after
//     Close) returns ErrClosed.
//   - A method that returns nil has made its effect durable: it survives a
//     SIGKILL of the plugin and a power loss immediately afterwards.
//   - A method that returns an error has changed nothing that a later read
//     can observe (no torn or partial entries, no half-written snapshot).
//   - Methods are safe for concurrent use; concurrent Appends are serialised,
//     and exactly one of two Appends at the same index succeeds.
type Store interface {
	// Info describes the plugin. It may be called before Open.
	Info(ctx context.Context) (StoreInfo, error)

	// Open opens (creating if needed) the store at cfg.Dir. The directory is
	// created with mode 0700 and files with 0600; an existing directory or
	// file that is group- or world-accessible makes Open fail with
	// ErrPermission and change nothing. Open takes an exclusive lock on the
	// directory that lasts until Close or process exit; if another process
	// holds it, Open fails with ErrLocked. Opening twice returns ErrConflict.
	Open(ctx context.Context, cfg StoreConfig) error

	// Append writes e at e.Index, which must be Head()+1; any other index
	// fails with ErrConflict and changes nothing. Entries are never
	// overwritten (Truncate aside). Data must be non-empty and at most
	// MaxEntryBytes (ErrInvalidArgument otherwise).
	Append(ctx context.Context, e LogEntry) error

	// Truncate removes every entry with an index above after, and the
	// snapshot if its Index is above after; after == Head() changes
	// nothing, after > Head() fails with ErrConflict and changes nothing.
	// after may be 0 (an empty log). It is the one exception to "entries are
	// never overwritten": the core calls it only to replace a suffix of the
	// log by a verified fork resolution, and re-verifies what remains.
	// Crash safety: removal runs from the highest index down, the snapshot
	// first, so after a crash the log is always a contiguous prefix of the
	// old log no shorter than after (never a log with a hole), and the
	// snapshot never lies beyond the log's head; when Truncate returns nil
	// the whole removal is durable. Safe for concurrent use with the other
	// methods like Append (serialised with it). A plugin that advertises
	// StoreCapTruncate implements it; one that does not fails it with
	// ErrUnsupported and changes nothing (a plugin built before Truncate
	// existed does so across the wire).
	Truncate(ctx context.Context, after uint64) error

	// Head returns the index of the last entry, or 0 for an empty log.
	Head(ctx context.Context) (uint64, error)

	// ReadLog returns up to limit consecutive entries starting at index from
	// (from ≥ 1), in index order. It returns fewer than limit only when the
	// log ends; from > Head()+1 fails with ErrNotFound, from == Head()+1
	// returns an empty slice. limit ≤ 0 fails with ErrInvalidArgument.
	ReadLog(ctx context.Context, from uint64, limit int) ([]LogEntry, error)

	// PutSnapshot atomically replaces the snapshot. A reader sees either the
	// previous snapshot or the new one, never a mixture, even across a crash.
	// Data must be non-empty and at most MaxSnapshotBytes.
	PutSnapshot(ctx context.Context, s Snapshot) error

	// GetSnapshot returns the current snapshot, or ErrNotFound if none was
	// ever put.
	GetSnapshot(ctx context.Context) (Snapshot, error)

	// Close releases the lock and every resource. It is idempotent.
	Close(ctx context.Context) error
}

// Size limits every Store must accept up to; Append and PutSnapshot refuse
// larger data with ErrInvalidArgument.
const (
	MaxEntryBytes    = 32 << 20 // one log entry (a genesis may carry many nodes)
	MaxSnapshotBytes = 64 << 20
)

// StoreConfig says where a store keeps its data.
type StoreConfig struct {
	// Dir is an absolute path to the store's directory.
	Dir string
}

// StoreInfo describes a store plugin.
type StoreInfo struct {
	Name         string // e.g. "file", "sqlite"
	Version      string // the plugin's own version, free form
	Capabilities StoreCapabilities
}

// StoreCapabilities are optional store features, advertised on the wire.
type StoreCapabilities uint64

// Store capability flags.
const (
	// StoreCapLock: Open takes an inter-process lock on the directory.
	StoreCapLock StoreCapabilities = 1 << iota
	// StoreCapPermissions: Open enforces 0700/0600 permissions.
	StoreCapPermissions
	// StoreCapTruncate: Truncate is implemented. The core refuses a fork
	// resolution, cleanly and before changing anything, with a store
	// that lacks it.
	StoreCapTruncate
)

// Has reports whether all flags in want are set.
func (c StoreCapabilities) Has(want StoreCapabilities) bool { return c&want == want }

// LogEntry is one entry of the append-only log.
type LogEntry struct {
	Index uint64 // 1-based, contiguous
	Data  []byte // opaque to the store
}

// Snapshot is the latest full state, as opaque bytes, with the log index it
// reflects.
type Snapshot struct {
	Index uint64
	Data  []byte
}
