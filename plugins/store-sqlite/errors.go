package storesqlite

import (
	"context"
	"errors"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/rustynet/rustynet/hostapi"
)

// dbError converts an error from database/sql or SQLite into a hostapi error
// with the closest stable code.
func dbError(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return ctxError(err)
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

// ctxError reports a done context. hostapi has no code for cancellation;
// UNAVAILABLE says the call changed nothing and may be retried.
func ctxError(err error) error {
	return hostapi.Errorf(hostapi.CodeUnavailable, "%v", err)
}

func errClosed() error {
	return hostapi.Errorf(hostapi.CodeClosed, "sqlite store is not open")
}

// checkData enforces the non-empty and size rules for entries and snapshots.
func checkData(what string, data []byte, limit int) error {
	if len(data) == 0 || len(data) > limit {
		return hostapi.Errorf(hostapi.CodeInvalidArgument, "%s data is %d bytes, want 1 to %d", what, len(data), limit)
	}
	return nil
}
