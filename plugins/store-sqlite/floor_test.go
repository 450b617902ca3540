package storesqlite_test

import (
	"database/sql"
	"path/filepath"
	"testing"
)

// BenchmarkFloor measures the durability primitive an Append is built on,
// with nothing else: one autocommit INSERT of 1 KiB into a WAL database with
// synchronous=FULL. Compare BenchmarkAppend/1KiB with it from the same run.
func BenchmarkFloor(b *testing.B) {
	db, err := sql.Open("sqlite", filepath.Join(b.TempDir(), "floor.db")+"?_journal_mode=WAL&_synchronous=FULL")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 1<<10)
	b.SetBytes(int64(len(data)))
	for i := 1; b.Loop(); i++ {
		if _, err := db.Exec(`INSERT INTO t (k, v) VALUES (?, ?)`, i, data); err != nil {
			b.Fatal(err)
		}
	}
}
