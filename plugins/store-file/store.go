package storefile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/atomicfile"
	"github.com/rustynet/rustynet/internal/storelayout"
	"github.com/rustynet/rustynet/internal/version"
	"github.com/rustynet/rustynet/plugins/internal/statedir"
	"github.com/rustynet/rustynet/plugins/internal/storerules"
)

// Version is the plugin's version, reported by Info: the build's
// (internal/version), as `rustynet version` prints it.
var Version = version.Get().String()

// Names inside the state directory; see the package documentation.
const (
	snapshotName    = "snapshot"
	snapshotTmpName = ".tmp-snapshot"
	logDirName      = "log"
	entryTmpName    = ".tmp-entry"
	entryNameDigits = 20
)

// Interface guards.
var _ hostapi.Store = (*Store)(nil)

// Store is the file-backed hostapi.Store. Create it with New; the zero value
// is not usable.
type Store struct {
	logger *slog.Logger

	// gate is the lifecycle: every method runs inside it (see
	// storerules.Gate), so Close waits for calls in flight and no call
	// touches a closed directory. It serialises Appends, and PutSnapshots,
	// and runs a Truncate alone.
	gate storerules.Gate

	// Set by Open, read-only until Close; guarded by gate.
	dir     *statedir.Dir
	root    string // the directory's path
	logPath string // its log directory's path

	// files are the open state and log directories, through which every
	// read and write goes; set by Open and, for a read-first store, filled
	// in by makeWritable (never replaced, so a reader may keep what it
	// loaded). Either is nil while a read-first store's is missing.
	files atomic.Pointer[files]

	// upgradeMu serialises makeWritable; writable is set once the store
	// holds its directory for writing.
	upgradeMu sync.Mutex
	writable  atomic.Bool

	// retired are logs a read-first store loaded before it was made
	// writable: a reader may still use their files, so Close closes them,
	// or Truncate, which runs alone and may remove or replace them.
	// Guarded by upgradeMu.
	retired []*segLog

	// head is written only by an Append or a Truncate, which the gate
	// serialises, and read anywhere. Every entry at or below head is
	// durable.
	head atomic.Uint64

	// failed is set when a write failed after its rename, leaving the disk
	// in a state the store cannot vouch for (an fsync error may have lost
	// data). Every later write fails; the store must be reopened.
	failed atomic.Pointer[string]
}

// New returns an unopened file store that logs to logger (nil discards).
func New(logger *slog.Logger) *Store {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	info := hostapi.StoreInfo{Name: storelayout.File, Version: Version, Capabilities: statedir.Capabilities | hostapi.StoreCapTruncate}
	return &Store{logger: logger, gate: storerules.Gate{Info: info}}
}

// Info describes the plugin. It may be called before Open; after Close it
// returns hostapi.ErrClosed.
func (s *Store) Info(ctx context.Context) (hostapi.StoreInfo, error) { return s.gate.StoreInfo() }

// Open opens (creating if needed) the store at cfg.Dir, as hostapi.Store
// specifies. It removes temp files a crashed writer left and finds the head
// by listing the log directory once. A failed Open leaves the Store unopened,
// so Open may be retried; Open after Close returns hostapi.ErrClosed.
func (s *Store) Open(ctx context.Context, cfg hostapi.StoreConfig) error {
	return s.gate.Open(ctx, cfg, func(d *statedir.Dir) error {
		s.root = d.Path()
		s.logPath = filepath.Join(s.root, logDirName)
		var err error
		if d.Writable() {
			err = s.prepare(d)
		} else {
			err = s.openToRead(d)
		}
		if err != nil {
			s.closeFiles()
			return err
		}
		s.dir = d
		s.logger.Info("file store opened", "dir", s.root, "head", s.head.Load(), "writable", s.writable.Load())
		return nil
	})
}

// files are a store's open directories and its log's segments.
type files struct {
	root    *atomicfile.Dir // the state directory
	log     *atomicfile.Dir // its log directory
	entries *segLog         // the log's segments; set when log is
}

// openToRead opens what a read-first directory holds, creating nothing:
// a missing directory or log directory reads as empty.
func (s *Store) openToRead(d *statedir.Dir) error {
	f := &files{root: d.Root()}
	if f.root != nil {
		log, err := f.root.OpenDir(logDirName)
		switch {
		case err == nil:
			f.log = log
		case !errors.Is(err, fs.ErrNotExist):
			return hostapi.Errorf(hostapi.CodeCorrupt, "%s: %v", s.logPath, err)
		}
	}
	if f.log != nil {
		entries, head, err := s.loadLog(f.log, false)
		if err != nil {
			f.log.Close()
			return err
		}
		f.entries = entries
		s.head.Store(head)
	}
	s.files.Store(f)
	return nil
}

// prepare makes the layout inside the directory d, held for writing:
// creates the log directory, removes temp files a crashed writer left, and
// loads the log (loadLog), converting the old layout and erasing an
// unfinished append.
func (s *Store) prepare(d *statedir.Dir) (err error) {
	root := d.Root()
	switch err := root.Mkdir(logDirName, 0o700); {
	case err == nil:
		if err := root.Sync(); err != nil {
			return statedir.PathError("sync directory", s.root, err)
		}
	case !errors.Is(err, fs.ErrExist):
		return statedir.PathError("create", s.logPath, err)
	}
	var log *atomicfile.Dir
	if old := s.files.Load(); old != nil && old.log != nil {
		log = old.log
	} else {
		if log, err = root.OpenDir(logDirName); err != nil {
			return hostapi.Errorf(hostapi.CodeCorrupt, "%s: %v", s.logPath, err)
		}
		defer func() {
			if err != nil {
				log.Close()
			}
		}()
	}
	for _, tmp := range []struct {
		dir  *atomicfile.Dir
		name string
	}{{root, snapshotTmpName}, {log, entryTmpName}, {log, segmentTmpName}} {
		if err := tmp.dir.Remove(tmp.name); err != nil {
			return statedir.PathError("remove", filepath.Join(tmp.dir.Path(), tmp.name), err)
		}
	}
	entries, head, err := s.loadLog(log, true)
	if err != nil {
		return err
	}
	if old := s.files.Load(); old != nil && old.entries != nil {
		s.retired = append(s.retired, old.entries)
	}
	s.files.Store(&files{root: root, log: log, entries: entries})
	s.head.Store(head)
	s.writable.Store(true)
	return nil
}

// makeWritable takes a read-first store's directory for writing before its
// first write (see storelayout.ReadFirstEnv), and refuses with
// hostapi.ErrConflict if the log changed since Open read it: what the
// caller verified would no longer be what it extends. The refusal is
// final, like any failure (see fail).
func (s *Store) makeWritable() error {
	if s.writable.Load() {
		return nil
	}
	s.upgradeMu.Lock()
	defer s.upgradeMu.Unlock()
	if s.writable.Load() {
		return nil
	}
	read := s.head.Load()
	if err := s.dir.MakeWritable(); err != nil {
		return err
	}
	if err := s.prepare(s.dir); err != nil {
		return err
	}
	if now := s.head.Load(); now != read {
		// Sticky: a later write must not extend a log the caller has not
		// read.
		return s.fail(hostapi.Errorf(hostapi.CodeConflict, "%s changed since it was opened (its log ended at %d, now at %d); reopen it", s.root, read, now))
	}
	return nil
}

// entryName returns the file name of entry i in the old layout, and the
// digits of a segment's name.
func entryName(i uint64) string { return fmt.Sprintf("%0*d", entryNameDigits, i) }

// parseEntryName returns the index an entry file name stands for.
func parseEntryName(name string) (uint64, bool) {
	if len(name) != entryNameDigits {
		return 0, false
	}
	for _, c := range []byte(name) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	i, err := strconv.ParseUint(name, 10, 64)
	return i, err == nil && i > 0
}

// Close releases the lock and every resource. It is idempotent; after it
// every method returns hostapi.ErrClosed.
func (s *Store) Close(ctx context.Context) error {
	return s.gate.Close(func() error {
		s.closeFiles()
		s.dir = nil // the gate releases it
		s.logger.Info("file store closed", "dir", s.root)
		return nil
	})
}

// closeFiles closes the log directory and its segments; the state
// directory is the statedir.Dir's, which closes it.
func (s *Store) closeFiles() {
	if f := s.files.Swap(nil); f != nil && f.log != nil {
		if f.entries != nil {
			f.entries.closeAll()
		}
		f.log.Close()
	}
	s.upgradeMu.Lock()
	for _, l := range s.retired {
		l.closeAll()
	}
	s.retired = nil
	s.upgradeMu.Unlock()
	s.writable.Store(false)
}

// checkWritable fails once a write has left the disk in doubt, and takes a
// read-first store's directory for writing (makeWritable).
func (s *Store) checkWritable() error {
	if msg := s.failed.Load(); msg != nil {
		return hostapi.Errorf(hostapi.CodeInternal, "store failed earlier (%s); close and reopen it", *msg)
	}
	return s.makeWritable()
}

// fail records that the disk is in doubt and returns err.
func (s *Store) fail(err error) error {
	msg := err.Error()
	s.failed.CompareAndSwap(nil, &msg)
	s.logger.Error("file store failed; writes refused until reopened", "dir", s.root, "err", err)
	return err
}
