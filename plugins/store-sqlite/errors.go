package storesqlite

import (
	"context"
	"errors"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/plugins/internal/storerules"
)

// dbError converts an error from database/sql or SQLite into a hostapi error
// with the closest stable code.
func dbError(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return storerules.CtxError(err)
	}
	code := hostapi.CodeInternal
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff { // the primary result code
		case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
			code = hostapi.CodeCorrupt
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			code = hostapi.CodeUnavailable
		case sqlite3.SQLITE_PERM, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_AUTH:
			code = hostapi.CodePermission
		}
	}
	return hostapi.Errorf(code, "%s: %v", op, err)
}
