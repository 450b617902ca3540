package storefile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/atomicfile"
	"github.com/rustynet/rustynet/plugins/internal/statedir"
	"github.com/rustynet/rustynet/plugins/internal/storerules"
)

// Version is this plugin's version, reported by Info.
const Version = "0.1.0"

// Names inside the state directory; see the package documentation.
const (
	snapshotName    = "snapshot"
	snapshotTmpName = ".tmp-snapshot"
	logDirName      = "log"
	entryTmpName    = ".tmp-entry"
	entryNameDigits = 20
)

type state int

const (
	stateNew state = iota
	stateOpen
	stateClosed
)

// Interface guards.
var _ hostapi.Store = (*Store)(nil)

// Store is the file-backed hostapi.Store. Create it with New; the zero value
// is not usable.
type Store struct {
	logger *slog.Logger

	// mu guards the lifecycle. Open and Close hold it exclusively; every
	// other method holds it shared for its whole run, so Close waits for
	// calls in flight and no call touches a closed directory.
	mu    sync.RWMutex
	state state // guarded by mu

	// Set by Open, read-only until Close; guarded by mu.
	dir      *statedir.Dir
	root     string
	logDir   string
	rootSync *statedir.DirSyncer
	logSync  *statedir.DirSyncer

	// appendMu serialises Append; head is written only under it and read
	// anywhere. Every entry at or below head is durable.
	appendMu sync.Mutex
	head     atomic.Uint64

	// snapMu serialises PutSnapshot.
	snapMu sync.Mutex

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
	return &Store{logger: logger}
}

// Info describes the plugin. It may be called before Open; after Close it
// returns hostapi.ErrClosed.
func (s *Store) Info(ctx context.Context) (hostapi.StoreInfo, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.state == stateClosed {
		return hostapi.StoreInfo{}, errClosed()
	}
	return hostapi.StoreInfo{Name: "file", Version: Version, Capabilities: statedir.Capabilities}, nil
}

// Open opens (creating if needed) the store at cfg.Dir, as hostapi.Store
// specifies. It removes temp files a crashed writer left and finds the head
// by listing the log directory once. A failed Open leaves the Store unopened,
// so Open may be retried; Open after Close returns hostapi.ErrClosed.
func (s *Store) Open(ctx context.Context, cfg hostapi.StoreConfig) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case stateOpen:
		return hostapi.Errorf(hostapi.CodeConflict, "store already open at %s", s.root)
	case stateClosed:
		return errClosed()
	}
	if err := ctx.Err(); err != nil {
		return storerules.CtxError(err)
	}
	d, err := statedir.Open(cfg.Dir)
	if err != nil {
		return err
	}
	if err := s.openLocked(d); err != nil {
		s.closeFiles()
		d.Close()
		return err
	}
	s.dir = d
	s.state = stateOpen
	s.logger.Info("file store opened", "dir", s.root, "head", s.head.Load())
	return nil
}

// openLocked prepares the layout inside the locked directory d.
func (s *Store) openLocked(d *statedir.Dir) error {
	s.root = d.Path()
	s.logDir = filepath.Join(s.root, logDirName)
	switch err := os.Mkdir(s.logDir, 0o700); {
	case err == nil:
		if err := atomicfile.SyncDir(s.root); err != nil {
			return err
		}
	case !errors.Is(err, fs.ErrExist):
		return statedir.PathError("create", s.logDir, err)
	default:
		if info, err := os.Lstat(s.logDir); err != nil || !info.IsDir() {
			return hostapi.Errorf(hostapi.CodeCorrupt, "%s is not a directory", s.logDir)
		}
	}
	for _, tmp := range []string{filepath.Join(s.root, snapshotTmpName), filepath.Join(s.logDir, entryTmpName)} {
		if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return statedir.PathError("remove", tmp, err)
		}
	}
	head, err := s.scanHead()
	if err != nil {
		return err
	}
	s.head.Store(head)
	if s.rootSync, err = statedir.NewDirSyncer(s.root); err != nil {
		return err
	}
	s.logSync, err = statedir.NewDirSyncer(s.logDir)
	return err
}

// scanHead returns the highest entry index named in the log directory.
// Gaps below it are not looked for here; reading one fails with
// hostapi.ErrCorrupt.
func (s *Store) scanHead() (uint64, error) {
	entries, err := os.ReadDir(s.logDir)
	if err != nil {
		return 0, statedir.PathError("list", s.logDir, err)
	}
	var head uint64
	for _, e := range entries {
		i, ok := parseEntryName(e.Name())
		if !ok || !e.Type().IsRegular() {
			s.logger.Warn("ignoring unexpected entry in log directory", "path", filepath.Join(s.logDir, e.Name()))
			continue
		}
		head = max(head, i)
	}
	return head, nil
}

// entryName returns the file name of entry i.
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
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateOpen {
		s.state = stateClosed
		return nil
	}
	s.state = stateClosed
	s.closeFiles()
	err := s.dir.Close()
	s.dir = nil
	s.logger.Info("file store closed", "dir", s.root)
	return err
}

func (s *Store) closeFiles() {
	if s.rootSync != nil {
		s.rootSync.Close()
		s.rootSync = nil
	}
	if s.logSync != nil {
		s.logSync.Close()
		s.logSync = nil
	}
}

// enter admits a call on an open store; the caller must call s.mu.RUnlock
// when it returns nil.
func (s *Store) enter() error {
	s.mu.RLock()
	if s.state != stateOpen {
		s.mu.RUnlock()
		return errClosed()
	}
	return nil
}

// checkWritable fails once a write has left the disk in doubt.
func (s *Store) checkWritable() error {
	if msg := s.failed.Load(); msg != nil {
		return hostapi.Errorf(hostapi.CodeInternal, "store failed earlier (%s); close and reopen it", *msg)
	}
	return nil
}

// fail records that the disk is in doubt and returns err.
func (s *Store) fail(err error) error {
	msg := err.Error()
	s.failed.CompareAndSwap(nil, &msg)
	s.logger.Error("file store failed; writes refused until reopened", "dir", s.root, "err", err)
	return err
}

func errClosed() error {
	return hostapi.Errorf(hostapi.CodeClosed, "file store is not open")
}
