// Package storefile is the file-backed hostapi.Store: one snapshot file and
// one file per log entry, every write made atomic and durable with the
// classic temp file + fsync + rename + directory fsync sequence.
//
// # On-disk layout
//
//	DIR/                        mode 0700
//	  LOCK                      inter-process lock (see package statedir)
//	  snapshot                  the current snapshot, one frame
//	  .tmp-snapshot             a snapshot being written; removed by Open
//	  log/                      mode 0700
//	    00000000000000000001    entry 1, one frame
//	    00000000000000000002    entry 2, ...
//	    .tmp-entry              an entry being written; removed by Open
//
// Entry files are named by their index, zero-padded to 20 digits (the width
// of the largest uint64) so names sort in index order. Every file is 0600.
//
// # Frame
//
// Each entry file and the snapshot file hold exactly one frame; all integers
// are big-endian:
//
//	offset size
//	0      4    magic: "RNE1" (log entry) or "RNS1" (snapshot)
//	4      8    index: the entry's index, or the snapshot's Index
//	12     8    n, the length of data
//	20     4    CRC-32C (Castagnoli) of bytes [0,20) followed by data
//	24     n    data
//
// A file whose size is not exactly 24+n, whose magic or CRC is wrong, or
// whose index differs from the index its name says, reads back as
// hostapi.ErrCorrupt; so does a missing entry below the head. Keeping the
// index inside the frame means a renamed or reordered entry file is
// detected rather than returned in the wrong place.
//
// # Durability
//
// An append writes log/.tmp-entry, fsyncs it, renames it to its final name
// and fsyncs log/. The rename is the single atomic step: before it the entry
// does not exist, after it the whole, already-synced entry does. Append
// returns only after the directory fsync, so an acknowledged entry survives
// a crash or power loss; an entry whose append did not return may or may not
// exist afterwards, but never partially. Appends are serialised, so entry
// n+1 is never renamed before entry n is durable and the log stays
// contiguous. PutSnapshot does the same with .tmp-snapshot and snapshot.
//
// Truncate (the one write that removes) removes the snapshot first if its
// index is above the new head, then the entry files from the head down,
// syncing the directory after each removal. The log on disk is therefore
// always a contiguous prefix of the old one, never a log with a hole, and
// never shorter than a snapshot it keeps; Truncate returns once the last
// removal is durable. It runs alone (no read or write beside it), so no
// reader meets an entry removed below the head it read.
//
// Open finds the head by listing log/ once and keeps it in memory; later
// appends never list or read the log, and a Truncate lowers it as it
// removes.
//
// # No symbolic links
//
// The state directory and log/ are opened once (package statedir, which
// also refuses a directory that is not private to this process's user, or
// is another store's) and every read, write and rename goes through those
// open directories (atomicfile.Dir): a temp file is removed and created
// afresh, exclusively and without following a link, so a link planted in
// the directory, or the directory swapped for one, never redirects a
// write.
//
// # Reading first
//
// Opened read-first (storelayout.ReadFirstEnv, as the CLI's commands do)
// the store creates nothing: no directory, no log/, no lock file; a missing
// directory or log/ reads as empty. The first write takes the directory's
// exclusive lock and creates what is missing, and refuses the write with
// CONFLICT if the log changed since Open (a refusal that stands until the
// store is reopened).
package storefile
