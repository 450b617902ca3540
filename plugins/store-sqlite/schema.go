package storesqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"hash/crc32"

	"github.com/rustynet/rustynet/hostapi"
)

// schemaVersion is the PRAGMA user_version of the layout described in the
// package documentation.
const schemaVersion = 1

const schemaSQL = `
CREATE TABLE log (
	idx  INTEGER PRIMARY KEY,
	data BLOB    NOT NULL,
	crc  INTEGER NOT NULL
) STRICT;
CREATE TABLE snapshot (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	idx  INTEGER NOT NULL,
	data BLOB    NOT NULL,
	crc  INTEGER NOT NULL
) STRICT;
PRAGMA user_version = 1;
`

// Statements, prepared once by Open.
const (
	// appendSQL inserts ?1 only if it is MAX(idx)+1, in one transaction.
	appendSQL      = `INSERT INTO log (idx, data, crc) SELECT ?1, ?2, ?3 WHERE (SELECT COALESCE(MAX(idx), 0) FROM log) = ?1 - 1`
	headSQL        = `SELECT COALESCE(MAX(idx), 0) FROM log`
	readLogSQL     = `SELECT idx, data, crc FROM log WHERE idx >= ?1 ORDER BY idx LIMIT ?2`
	putSnapshotSQL = `INSERT INTO snapshot (id, idx, data, crc) VALUES (1, ?1, ?2, ?3)
		ON CONFLICT (id) DO UPDATE SET idx = excluded.idx, data = excluded.data, crc = excluded.crc`
	getSnapshotSQL = `SELECT idx, data, crc FROM snapshot WHERE id = 1`

	// Truncate's statements, run in one transaction (see truncateDB).
	snapshotIndexSQL  = `SELECT idx FROM snapshot WHERE id = 1`
	deleteSnapshotSQL = `DELETE FROM snapshot WHERE id = 1`
	truncateLogSQL    = `DELETE FROM log WHERE idx > ?1`
)

// createSchema creates the schema in a new, empty database.
func createSchema(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return dbError("begin schema transaction", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, schemaSQL); err != nil {
		return dbError("create schema", err)
	}
	if err := tx.Commit(); err != nil {
		return dbError("commit schema", err)
	}
	return nil
}

// checkSchema refuses a database without our schema. Open creates databases
// complete (see createDB), so one without a schema version is damaged, for
// example emptied or truncated, and reads as hostapi.ErrCorrupt rather than
// as an empty store.
func checkSchema(ctx context.Context, db *sql.DB) error {
	var v int
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return dbError("read schema version", err)
	}
	switch {
	case v == 0:
		return hostapi.Errorf(hostapi.CodeCorrupt, "database has no schema (emptied or truncated?)")
	case v != schemaVersion:
		return hostapi.Errorf(hostapi.CodeUnsupported, "schema version %d, this plugin knows %d", v, schemaVersion)
	}
	return nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checksum is the crc column: CRC-32C of the big-endian index, then data.
func checksum(index uint64, data []byte) int64 {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], index)
	return int64(crc32.Update(crc32.Checksum(b[:], castagnoli), castagnoli, data))
}
