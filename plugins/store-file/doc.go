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
//	    torn-6-1733130000000000000    bytes of a torn append a writable Open
//	                                  erased (see Torn tail); kept, never read
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
// hostapi.MaxEntryBytes), the same for a log converted from the old
// layout (below). A segment holds:
//
//	offset size
//	0      4    magic: "RNL2"
//	4      8    the index of its first entry (the one its name says)
//	12     8    its size in bytes, which the file's size must be
//	20     4    CRC of bytes [0,20)
//	24     …    frames of consecutive entries, the first at 24, each
//	            starting where the previous ends
//	…      …    zeros to the end
//
// # Frame
//
// Each log entry is one frame in a segment:
//
//	offset size
//	0      4    magic: "RNE1"
//	4      8    index: the entry's index
//	12     8    n, the length of data
//	20     4    CRC of data
//	24     4    CRC of bytes [0,24): the header's own CRC
//	28     n    data
//	28+n   4    trailer magic "RNT1"
//
// The header's own CRC lets Open trust a header (its index and length)
// without reading its data, and so tell a damaged frame from one whose
// write stopped short. The trailer is written last (in the same write)
// and tells a whole frame from one whose write stopped short. Keeping the
// index inside the frame means a frame copied or moved elsewhere is
// detected rather than returned in the wrong place.
//
// The snapshot file is one frame of the old layout's form (below), with
// magic "RNS1" and the snapshot's Index:
//
//	offset size
//	0      4    magic
//	4      8    index
//	12     8    n, the length of data
//	20     4    CRC of bytes [0,20) followed by data
//	24     n    data
//
// # Opening
//
// Open lists log/ once, opens every segment and reads each one's header
// and its frames' headers and trailers in order, keeping in memory where
// every entry's frame lies; ReadLog then reads each entry with one read
// of exactly its frame and checks it whole (magic, header CRC, index,
// length, data CRC, trailer). A frame counts as whole here when its
// header's CRC holds, its length fits the segment and its trailer is
// present. Open fails with hostapi.ErrCorrupt when the segments do not
// start at entry 1 or do not follow each other (a segment's first entry
// must be the one after the previous segment's last), when a segment's
// header is damaged or names another first entry or another size than
// the file has (a segment truncated or extended), when a segment holds
// no frame, when a header whose CRC holds names another index than the
// next one, when anything but zeros follows the last whole frame of a
// segment other than the last, or when what follows the last whole frame
// of the last segment is not a torn tail (below). A whole frame whose
// data is damaged is found by the read of that entry, which fails with
// hostapi.ErrCorrupt (the last frame of the log excepted, see below).
//
// # Torn tail
//
// An append writes its frame over zeros. A crash during the write leaves,
// after the last whole frame of the last segment, part of the new frame:
// a SIGKILL a prefix of it (the kernel copies a write into the page cache
// in order), a power loss any subset of its 512-byte sectors. Let R be
// the bytes from the end of the last whole frame of the last segment to
// its last non-zero byte. Open decides:
//
//   - R empty: the log ends cleanly.
//   - R holds, at any offset, a valid whole frame (magic, header CRC,
//     data CRC, trailer), of any index: damage in the middle of the log
//     (a frame whose header was damaged, followed by acknowledged ones),
//     never a torn append, since an append is written only after the one
//     before it is durable. Open fails with hostapi.ErrCorrupt.
//   - R starts with a header whose CRC holds for another index than the
//     next: hostapi.ErrCorrupt.
//   - Anything else (a partial, zeroed or garbled header, a header
//     without its trailer, stray bytes): a torn append.
//
// The last frame itself, whole by the rule above, is checked too (unless
// it is its segment's first, which is written with its segment, below):
// if its data CRC fails and nothing follows it, it is a torn append when
// one of the 512-byte sectors (aligned to the file) wholly inside its
// data holds only zeros, a sector that did not reach the disk; otherwise
// it stays, the head, and its read fails with hostapi.ErrCorrupt (a
// damaged acknowledged entry is refused, never dropped).
//
// The head is then the last whole frame's entry before the torn append.
// A writable Open first keeps R's bytes in log/torn-<next index>-<unix
// nanoseconds> (0600, created through a synced temp file, directory
// synced), so that no evidence is ever destroyed, then zeroes R and
// syncs (the last 4 bytes first, then the rest after the header, then
// the first 28, each step synced before the next begins, so that a crash
// during the repair leaves a torn tail still). A read-first Open (below)
// ignores R and writes nothing. Nothing reads the kept files; an
// operator may remove them.
//
// The rule can hide damage to the log's last entry only, since anything
// that damages an earlier frame leaves a later whole frame in R: a last
// frame whose header or trailer was damaged, or one whole sector of whose
// data was zeroed, reads as torn, and the log as one entry shorter. A log
// shorter than what this node once trusted is what the core's high-water
// mark (core/ledger/highwater.go) refuses as a rollback: the ledger
// advances the mark, kept outside the store's directory, after each entry
// it commits, and refuses to open a log that ends below it. So a hidden
// acknowledged entry is caught there, as a deleted one is (unless the
// crash came between the entry's append and the mark's write, when the
// entry was never trusted), and its bytes are still in the torn- file.
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
// directory. A writable Open (and a read-first store's first write)
// fdatasyncs the last segment and fsyncs log/ before it returns, so the
// head it reports, which the ledger may then mark as trusted, is durable
// even if the process that wrote it died before its own sync.
//
// Truncate (the one write that removes) removes the snapshot first if its
// index is above the new head, then the segments that start above the new
// head, from the last down, syncing log/ after each removal, then, if the
// segment holding the new head holds entries above it, replaces that
// segment by a copy of its bytes up to the new head's frame followed by
// zeros (temp file, streamed through a bounded buffer, fsync, rename,
// directory fsync). If a step fails after an earlier one changed the
// disk, the store refuses every later write until it is reopened. The
// log on disk is
// therefore always a contiguous prefix of the old one, never a log with a
// hole, and never shorter than a snapshot it keeps; Truncate returns once
// the last step is durable. It runs alone (no read or write beside it),
// so no reader meets an entry removed below the head it read.
//
// # The old layout
//
// Stores written before segments kept one file per entry in log/, named
// by its index (20 digits), each one frame of the snapshot's form (magic
// "RNE1", no header CRC, no trailer). A read-first Open reads such a log
// as it is and changes nothing. A writable Open converts it: it reads and
// checks every entry (a missing or damaged one fails Open with
// hostapi.ErrCorrupt and changes nothing), writes them into segments of
// the usual size, each through log/.tmp-segment (fsync, rename), from the
// last to the first, syncs log/, then publishes the segment of entry 1
// the same way and syncs log/ again, and only then removes the entry
// files and syncs log/. Entry files beside segments without the segment
// of entry 1 are an unfinished conversion: a read-first Open reads the
// entry files, a writable one converts again (the new segments replace
// the old, and any other is removed before the segment of entry 1 is
// published). An Open that finds the segment of entry 1 and entry files
// (a crash during the removals) takes the segments and removes the entry
// files, which must not name an entry beyond them. A crash at any step
// leaves either the old layout whole or segments holding every entry.
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
// stands until the store is reopened). A read of the old layout that
// finds an entry file gone while that first write converts the log waits
// for the conversion and reads the entry from the segments.
package storefile
