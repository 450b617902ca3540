// Package storerules holds the rules of the hostapi.Store contract that
// every store checks the same way, so the built-in stores state them once:
// the lifecycle and the preamble of every method (Gate), data sizes, the
// append index, the Truncate bound, ReadLog ranges, and how a done context
// is reported.
package storerules

import "github.com/rustynet/rustynet/hostapi"

// CheckData enforces the non-empty and size rules for entries
// (hostapi.MaxEntryBytes) and snapshots (hostapi.MaxSnapshotBytes).
func CheckData(what string, data []byte, limit int) error {
	if len(data) == 0 || len(data) > limit {
		return hostapi.Errorf(hostapi.CodeInvalidArgument, "%s data is %d bytes, want 1 to %d", what, len(data), limit)
	}
	return nil
}

// NextIndex enforces the append index: an entry goes at head+1, any other
// index fails with CONFLICT.
func NextIndex(index, head uint64) error {
	if want := head + 1; index != want {
		return hostapi.Errorf(hostapi.CodeConflict, "append at index %d, want %d", index, want)
	}
	return nil
}

// TruncateAfter validates a Truncate against the log's head and reports
// whether it removes anything: after > head fails with CONFLICT, after ==
// head removes nothing.
func TruncateAfter(after, head uint64) (bool, error) {
	if after > head {
		return false, hostapi.Errorf(hostapi.CodeConflict, "truncate after index %d, beyond head %d", after, head)
	}
	return after < head, nil
}

// ReadRange validates a ReadLog request against the log's head and returns
// how many entries it yields: from ≥ 1 and limit > 0 (INVALID_ARGUMENT),
// from ≤ head+1 (NOT_FOUND); from == head+1 yields none.
func ReadRange(from uint64, limit int, head uint64) (uint64, error) {
	if limit <= 0 {
		return 0, hostapi.Errorf(hostapi.CodeInvalidArgument, "limit %d, want > 0", limit)
	}
	if from == 0 {
		return 0, hostapi.Errorf(hostapi.CodeInvalidArgument, "from 0, want >= 1")
	}
	if from > head+1 {
		return 0, hostapi.Errorf(hostapi.CodeNotFound, "from %d is beyond head %d + 1", from, head)
	}
	return min(uint64(limit), head+1-from), nil
}

// CtxError reports a done context. The contract has no code for it; it is
// UNAVAILABLE (retryable), and the write it interrupted changed nothing.
func CtxError(err error) error {
	return hostapi.Errorf(hostapi.CodeUnavailable, "%v", err)
}
