// Package storefile is the file-backed hostapi.Store: one snapshot file and
// a log kept in preallocated segment files that appends overwrite in
// place, each append made durable by one fdatasync.
//
// # On-disk layout
//
//	DIR/                              mode 0700
//	  LOCK                            inter-process lock (see package statedir)
//	  snapshot                        the current snapshot, one frame
//	  .tmp-snapshot                   a snapshot being written; removed by Open
//	  log/                            mode 0700
//	    seg-00000000000000000001      a segment: entries 1, 2, …
//	    seg-00000000000000004097      the next segment, from entry 4097
//	    .tmp-segment                  a segment being written; removed by Open
//
// A segment is named by the index of its first entry, zero-padded to 20
// digits (the width of the largest uint64) so names sort in index order.
// Every file is 0600.
//
// All integers below are big-endian; CRC is CRC-32C (Castagnoli).
//
// # Segment
//
// A segment is created at its full size, its unused bytes real zeros
// written and synced, so that an append never changes its size or
// extents. That size is 4 MiB, or the segment header plus the first
// frame when that frame is larger (an entry may be up to
// hostapi.MaxEntryBytes); a log converted from the old layout (below) is
// one segment of at least 4 MiB holding all its entries. A segment holds:
//
//	offset size
//	0      4    magic: "RNL1"
//	4      8    the index of its first entry (the one its name says)
//	12     8    its size in bytes, which the file's size must be
//	20     4    CRC of bytes [0,20)
//	24     …    frames of consecutive entries, the first at 24, each
//	            starting where the previous ends
//	…      …    zeros to the end
//
// # Frame
//
// Each log entry is one frame in a segment; the snapshot file is one frame
// without a trailer:
//
//	offset size
//	0      4    magic: "RNE1" (log entry) or "RNS1" (snapshot)
//	4      8    index: the entry's index, or the snapshot's Index
//	12     8    n, the length of data
//	20     4    CRC of bytes [0,20) followed by data
//	24     n    data
//	24+n   4    log entries only: trailer magic "RNT1"
//
// The trailer is written last (in the same write) and tells a whole frame
// from one whose write stopped short. Keeping the index inside the frame
// means a frame copied or moved elsewhere is detected rather than
// returned in the wrong place.
//
// # Opening
//
// Open lists log/ once, opens every segment and reads each one's header
// and its frames' headers and trailers in order, keeping in memory where
// every entry's frame lies; ReadLog then reads each entry with one read
// of exactly its frame and checks it whole (magic, index, length, CRC,
// trailer). Open fails with hostapi.ErrCorrupt when the segments do not
// start at entry 1 or do not follow each other (a segment's first entry
// must be the one after the previous segment's last), when a segment's
// header is damaged or names another first entry or another size than
// the file has (a segment truncated or extended), when a segment holds
// no frame, when a frame's header names another index than the next one,
// or when the bytes after a segment's last whole frame are neither zeros
// nor, in the last segment only, a torn tail. A whole frame whose data
// or CRC is damaged is found by the read of that entry, which fails with
// hostapi.ErrCorrupt (the last frame of the log excepted, see below).
//
// # Torn tail
//
// An append writes its frame over zeros. A crash during the write leaves,
// after the last whole frame of the last segment, part of the new frame:
// a SIGKILL a prefix of it (the kernel copies a write into the page cache
// in order), a power loss any subset of its 512-byte sectors. Open takes
// the bytes after that last frame for such a torn append, and the head
// for the last whole frame's entry, when nothing but zeros follows and
// they are:
//
//   - a header fragment: non-zero bytes only in the first 24, and each of
//     its first 12 bytes (magic and index) either zero or the byte the
//     next entry's header has there; or
//   - the header of the next entry (its magic, the next index, a length
//     that fits the segment) and nothing non-zero after where that frame
//     would end, its trailer not the trailer magic; or
//   - a whole frame of the next entry, trailer present, that is not the
//     segment's first frame, whose CRC fails and one of whose 512-byte
//     sectors (aligned to the file) lies wholly inside it and holds only
//     zeros: a sector that did not reach the disk.
//
// Anything else there fails Open with hostapi.ErrCorrupt. A segment's
// first frame is never torn (it is written with its segment, below), and
// only the last segment may end in a torn tail. A writable Open zeroes a
// torn tail and syncs (the trailer's bytes first, then the data, then the
// header, each step synced before the next begins, so that a crash during
// the repair leaves a torn tail still); a read-first Open (below) ignores
// it and writes nothing. An unacknowledged append that a power loss left
// with its first sector unwritten and a later one written is not
// recognised: Open fails with hostapi.ErrCorrupt rather than guess.
//
// The rule can hide damage to the log's last entry only: a last frame
// whose trailer, or one whole sector, was destroyed reads as torn, and the
// log as one entry shorter. Any damage before the last frame is followed
// by a whole frame and fails. A log shorter than what this node once
// trusted is what the core's high-water mark (core/ledger/highwater.go)
// refuses as a rollback: the ledger advances the mark, kept outside the
// store's directory, after each entry it commits, and refuses to open a
// log that ends below it. So a hidden last entry is caught there, as a
// deleted one is (unless the crash came between the entry's append and
// the mark's write, when the entry was never trusted).
//
// # Durability
//
// An append that fits in the last segment is one write of the whole frame
// at the end of the last frame and one fdatasync (fsync where there is
// none). Append returns only after it, so an acknowledged entry survives a
// crash or power loss; an entry whose append did not return may or may
// not exist afterwards, but never partially (a torn tail is erased). If
// the write or the sync fails, the store zeroes the frame's bytes again
// and syncs, as a repair does, and returns the error, so that an error
// means nothing changed; if that fails too, the store refuses every later
// write until it is reopened. An append whose frame does not fit starts a
// new segment: header, frame and zeros written to log/.tmp-segment,
// fsynced, renamed to the segment's name, and log/ fsynced; the rename is
// the atomic step. Appends are serialised, so entry n+1 is never written
// before entry n is durable and the log stays contiguous. PutSnapshot
// writes .tmp-snapshot, fsyncs it, renames it to snapshot and fsyncs the
// directory.
//
// Truncate (the one write that removes) removes the snapshot first if its
// index is above the new head, then the segments that start above the new
// head, from the last down, syncing log/ after each removal, then, if the
// segment holding the new head holds entries above it, replaces that
// segment by a copy of its bytes up to the new head's frame followed by
// zeros (temp file, fsync, rename, directory fsync). The log on disk is
// therefore always a contiguous prefix of the old one, never a log with a
// hole, and never shorter than a snapshot it keeps; Truncate returns once
// the last step is durable. It runs alone (no read or write beside it),
// so no reader meets an entry removed below the head it read.
//
// # The old layout
//
// Stores written before segments kept one file per entry in log/, named
// by its index (20 digits), each one frame without a trailer. A read-first
// Open reads such a log as it is and changes nothing. A writable Open
// converts it: it reads and checks every entry (a missing or damaged one
// fails Open with hostapi.ErrCorrupt and changes nothing), writes them all
// into one segment through log/.tmp-segment (fsync, rename, directory
// fsync), and only then removes the entry files and syncs log/. An Open
// that finds both a segment and entry files (a crash during the removals)
// takes the segments and removes the entry files, which must not name an
// entry beyond them. A crash at any step leaves either the old layout
// whole or a segment holding every entry.
//
// # No symbolic links
//
// The state directory and log/ are opened once (package statedir, which
// also refuses a directory that is not private to this process's user, or
// is another store's) and every open, write and rename goes through those
// open directories (atomicfile.Dir): a segment or the snapshot is opened
// without following a link, a temp file is removed and created afresh,
// exclusively and without following a link, so a link planted in the
// directory, or the directory swapped for one, never redirects a write.
//
// # Reading first
//
// Opened read-first (storelayout.ReadFirstEnv, as the CLI's commands do)
// the store creates nothing: no directory, no log/, no lock file; a missing
// directory or log/ reads as empty; nothing is converted or repaired. The
// first write takes the directory's exclusive lock, creates what is
// missing, converts and repairs as a writable Open does, and refuses the
// write with CONFLICT if the log's head changed since Open (a refusal that
// stands until the store is reopened).
package storefile
