// Package audit is a node's audit trail: a durable, append-only,
// hash-chained record of what happened to its trust — every update
// accepted or refused (with its code, reason and source), every change of
// trust state, every plugin crash and relaunch. It is forensic evidence
// kept beside the state, never part of it: nothing in it is signed by the
// approvers, nothing reads it to decide anything, and the signed log
// (core/ledger) stays the only source of truth for membership.
//
// # Format
//
// The log is a directory, DirFor(stateDir) = <state_dir>.audit, 0700,
// holding segments audit-00000001.jsonl, audit-00000002.jsonl, … (0600),
// each a sequence of lines, one Record per line: the canonical JSON
// encoding of the Record struct (fields in declaration order, empty
// fields left out). Record n carries seq n, the hash of record n-1 (64
// zeroes for the first record ever written) and its own hash:
//
//	hash = hex(SHA-256("rustynet.audit.v1\x00" || the line without its "hash" field))
//
// A line that is not byte-identical to the re-encoding of what it decodes
// to does not verify, so an edit cannot hide behind reformatting. Verify
// (and `rustynet audit verify`) catches an edited record (its hash), one
// replaced with a re-hashed forgery (the next record's link), records
// removed from the middle (a gap in seq) or the start (no rotation record
// accounts for them), and records reordered — within a segment and across
// segments. A tail cut off leaves a shorter valid chain; compare the head
// (seq and hash, in Verify's report) with an earlier copy to catch it.
//
// The chain makes the log tamper-evident, not tamper-proof: whoever can
// write the directory can also write a whole new, consistent chain. So the
// directory is as private as the state directory (0700, files 0600), and
// a head kept elsewhere (`rustynet audit verify --expect SEQ:HASH`, or a
// copy shipped off the node) is what shows that an earlier history is
// still the same.
//
// # Limits and rotation
//
// A segment that reaches Limits.SegmentBytes (1 MiB) is closed and the
// next begun; when there are more than Limits.Segments (8), the oldest is
// deleted, after an audit.rotated_out record naming it (its first and last
// seq, its last hash) is durable. The first retained record must link to
// the last record of the newest segment so removed: Verify accepts a log
// that begins there and reports RotatedOutBefore.
//
// # Never in the way
//
// Record never blocks and never fails: it puts the event on a bounded
// queue (Limits.Queue, 1024) and returns. One goroutine writes the queue
// in batches, each made durable (write, fsync) before the next; a caller
// may hold its own locks while it records. Therefore:
//
//   - A full queue drops the event and counts it; the next write records
//     an audit.lost record with the count and the time of the first loss.
//   - A failing disk (full, read-only, I/O errors) drops the batch, counts
//     it, cuts the segment back to its last whole record, and retries with
//     the next event or every RetryInterval (5 s). Status().Failing says
//     why meanwhile (the daemon reports itself degraded); once a write
//     succeeds, audit.lost records what was lost and why.
//   - A crash loses at most the events still queued (the last batch) and
//     may leave a partial last line; Open cuts it off and records
//     audit.torn_tail. Records already written are never rewritten.
//   - If the newest records do not verify when the log is opened (they
//     were edited), Open chains on from the last record that does and
//     records audit.chain_break; the damage stays for Verify to report.
//   - If the directory cannot be opened at all, the caller runs without an
//     audit log and says so; membership and the data plane are unaffected.
//
// # What is never in it
//
// Key material: a Record has no field for keys or signatures. Updates are
// identified by id, epoch, operation, the ids of the approvers whose
// signatures counted and the SHA-256 of the file as received; a refused
// file's bytes are not kept. Reasons are the trust engine's or supervisor's
// error texts, capped at MaxReason bytes.
package audit
