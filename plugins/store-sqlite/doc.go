// Package storesqlite is the SQLite-backed hostapi.Store: the snapshot and
// the log in one database file, written through modernc.org/sqlite (pure Go,
// so the plugin cross-compiles without cgo).
//
// # On-disk layout
//
//	DIR/             mode 0700
//	  LOCK           inter-process lock (see package statedir)
//	  store.db       the database, mode 0600
//	  store.db-wal   write-ahead log while open (SQLite gives it store.db's mode)
//	  store.db-shm   WAL index while open (likewise)
//
// Open creates store.db complete with its schema under the name store.db.new
// and renames it into place, so a store.db without the schema is damage and
// reads as hostapi.ErrCorrupt, never as an empty store. The schema (PRAGMA
// user_version 1) is two STRICT tables:
//
//	log(idx INTEGER PRIMARY KEY, data BLOB NOT NULL, crc INTEGER NOT NULL)
//	snapshot(id INTEGER PRIMARY KEY CHECK (id = 1), idx INTEGER NOT NULL,
//	         data BLOB NOT NULL, crc INTEGER NOT NULL)
//
// crc is the CRC-32C (Castagnoli) of the 8-byte big-endian index followed by
// the data. SQLite keeps no page checksums, so the crc is what turns a
// flipped bit in a blob, or a row moved to another index, into
// hostapi.ErrCorrupt instead of wrong bytes. Indices are stored as the int64
// with the same bits as the uint64.
//
// # Durability
//
// The database runs with journal_mode=WAL and synchronous=FULL, so every
// commit fsyncs the WAL before it returns. Append is one INSERT statement,
// hence one transaction, whose WHERE clause checks that the index is
// MAX(idx)+1: the check and the insert cannot be separated, and of two
// Appends at one index exactly one inserts a row. PutSnapshot is one upsert,
// hence one transaction. Truncate is one transaction that checks the log's
// last row against the head the store keeps in memory, deletes the rows
// above the new head and the snapshot if its index (compared as a uint64)
// is above it; the head in memory follows the commit. The store uses a single connection, so its calls
// are serialised by database/sql as well as by its own locks.
//
// # Safety and reading first
//
// The directory is checked and opened by package statedir: it must be
// private to this process's user (or root's), hold no symbolic link, and
// not be another store's. The files the store itself creates (store.db.new)
// are created through the open directory, never through a link; SQLite
// opens its own files by path, which only the directory's owner can
// change. Opened read-first (storelayout.ReadFirstEnv) the store creates
// nothing: a missing database reads as empty, an existing one is opened
// read-only (immutable when no -wal file is left, so no -shm file is
// created either); the first write takes the directory's exclusive lock,
// creates the database if needed and reopens it writable, and refuses the
// write with CONFLICT if the log changed since Open.
package storesqlite
