// Package storefiles is a minimal, correct Rustynet store plugin, written as
// an example for plugin authors: one file per log entry and one snapshot
// file in a directory, every write made durable with the temp file + fsync
// + rename + directory fsync sequence. It passes every MUST case of the
// conformance suite (see store_test.go); docs/plugin-authors.md walks
// through it.
//
// Layout: DIR (0700) holds LOCK, snapshot (8-byte big-endian index, then
// the data), entries named by their index zero-padded to 20 digits, and
// *.tmp files while a write is in progress. Every file is 0600.
package storefiles

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/rustynet/rustynet/hostapi"
)

// Store is the example store. The zero value is an unopened store.
type Store struct {
	mu     sync.Mutex // serialises every method; guards the fields below
	opened bool
	closed bool
	dir    string
	lock   *os.File // holds the directory's lock while open
	head   uint64   // every entry up to head is durable
}

// Interface guard.
var _ hostapi.Store = (*Store)(nil)

// Info describes the store. Locks and permissions are advertised where
// the platform has them (see lock_*.go).
func (s *Store) Info(context.Context) (hostapi.StoreInfo, error) {
	return hostapi.StoreInfo{Name: "files-example", Version: "1.0.0", Capabilities: capabilities}, nil
}

// Open checks modes, takes the lock, drops temp files and finds the head.
// Nothing is changed before every check has passed.
func (s *Store) Open(_ context.Context, cfg hostapi.StoreConfig) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return hostapi.ErrClosed
	case s.opened:
		return hostapi.Errorf(hostapi.CodeConflict, "already open on %s", s.dir)
	case !filepath.IsAbs(cfg.Dir):
		return hostapi.Errorf(hostapi.CodeInvalidArgument, "directory %q is not absolute", cfg.Dir)
	}
	names, err := checkModes(cfg.Dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return hostapi.Errorf(hostapi.CodeInternal, "create %s: %v", cfg.Dir, err)
	}
	lock, err := lockDir(cfg.Dir)
	if err != nil {
		return err
	}
	var head uint64
	for _, name := range names {
		if strings.HasSuffix(name, ".tmp") {
			_ = os.Remove(filepath.Join(cfg.Dir, name))
		} else if _, err := strconv.ParseUint(name, 10, 64); err == nil && len(name) == 20 {
			head++
		}
	}
	if _, err := os.Stat(entryPath(cfg.Dir, head)); head > 0 && err != nil {
		_ = lock.Close()
		return hostapi.Errorf(hostapi.CodeCorrupt, "the log in %s is not contiguous", cfg.Dir)
	}
	s.opened, s.dir, s.lock, s.head = true, cfg.Dir, lock, head
	return nil
}

// checkModes refuses a directory, or an entry in it, that group or others
// can access, and returns the entries' names ("" if dir does not exist).
func checkModes(dir string) ([]string, error) {
	info, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil || !info.IsDir() {
		return nil, hostapi.Errorf(hostapi.CodeInvalidArgument, "%s is not a directory (%v)", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, hostapi.Errorf(hostapi.CodePermission, "read %s: %v", dir, err)
	}
	var names []string
	for _, e := range append([]fs.DirEntry{fs.FileInfoToDirEntry(info)}, entries...) {
		fi, err := e.Info()
		if err != nil {
			return nil, hostapi.Errorf(hostapi.CodeInternal, "stat %s: %v", e.Name(), err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return nil, hostapi.Errorf(hostapi.CodePermission, "%s in %s has mode %v: group or others can access it", e.Name(), dir, fi.Mode())
		}
		names = append(names, e.Name())
	}
	return names[1:], nil
}

// ready checks that the store is open; the caller holds s.mu.
func (s *Store) ready() error {
	if !s.opened || s.closed {
		return hostapi.ErrClosed
	}
	return nil
}

func entryPath(dir string, i uint64) string { return filepath.Join(dir, fmt.Sprintf("%020d", i)) }

// Append writes e durably at Head()+1.
func (s *Store) Append(_ context.Context, e hostapi.LogEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ready(); err != nil {
		return err
	}
	if len(e.Data) == 0 || len(e.Data) > hostapi.MaxEntryBytes {
		return hostapi.Errorf(hostapi.CodeInvalidArgument, "entry of %d bytes", len(e.Data))
	}
	if e.Index != s.head+1 {
		return hostapi.Errorf(hostapi.CodeConflict, "append at %d, head is %d", e.Index, s.head)
	}
	if err := writeDurably(s.dir, entryPath(s.dir, e.Index), e.Data); err != nil {
		return err
	}
	s.head++
	return nil
}

// Truncate removes the entries above after, and the snapshot if its index
// is above after: the snapshot first, then the entries from the head down,
// each removal synced before the next, so that a crash leaves a contiguous
// prefix of the log (which Open checks) and no snapshot beyond it.
func (s *Store) Truncate(_ context.Context, after uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ready(); err != nil {
		return err
	}
	if after > s.head {
		return hostapi.Errorf(hostapi.CodeConflict, "truncate after %d, head is %d", after, s.head)
	}
	if after == s.head {
		return nil
	}
	snapshot := filepath.Join(s.dir, "snapshot")
	b, err := os.ReadFile(snapshot)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil || len(b) < 9:
		return hostapi.Errorf(hostapi.CodeCorrupt, "snapshot: %d bytes (%v)", len(b), err)
	case binary.BigEndian.Uint64(b) > after:
		if err := removeDurably(s.dir, snapshot); err != nil {
			return err
		}
	}
	for ; s.head > after; s.head-- {
		if err := removeDurably(s.dir, entryPath(s.dir, s.head)); err != nil {
			return err
		}
	}
	return nil
}

// removeDurably removes path and syncs dir, so that the removal survives a
// crash before the next one is made.
func removeDurably(dir, path string) error {
	err := os.Remove(path)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		err = syncDir(dir)
	}
	if err != nil {
		return hostapi.Errorf(hostapi.CodeInternal, "remove %s: %v", path, err)
	}
	return nil
}

// Head returns the last index.
func (s *Store) Head(context.Context) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.head, s.ready()
}

// ReadLog reads up to limit entries from index from.
func (s *Store) ReadLog(_ context.Context, from uint64, limit int) ([]hostapi.LogEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ready(); err != nil {
		return nil, err
	}
	switch {
	case from == 0 || limit <= 0:
		return nil, hostapi.Errorf(hostapi.CodeInvalidArgument, "ReadLog(%d, %d)", from, limit)
	case from > s.head+1:
		return nil, hostapi.Errorf(hostapi.CodeNotFound, "index %d is beyond head %d", from, s.head)
	}
	out := []hostapi.LogEntry{}
	for i := from; i <= s.head && len(out) < limit; i++ {
		data, err := os.ReadFile(entryPath(s.dir, i))
		if err != nil {
			return nil, hostapi.Errorf(hostapi.CodeCorrupt, "entry %d: %v", i, err)
		}
		out = append(out, hostapi.LogEntry{Index: i, Data: data})
	}
	return out, nil
}

// PutSnapshot replaces the snapshot atomically and durably.
func (s *Store) PutSnapshot(_ context.Context, snap hostapi.Snapshot) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ready(); err != nil {
		return err
	}
	if len(snap.Data) == 0 || len(snap.Data) > hostapi.MaxSnapshotBytes {
		return hostapi.Errorf(hostapi.CodeInvalidArgument, "snapshot of %d bytes", len(snap.Data))
	}
	return writeDurably(s.dir, filepath.Join(s.dir, "snapshot"), binary.BigEndian.AppendUint64(nil, snap.Index), snap.Data)
}

// GetSnapshot reads the snapshot.
func (s *Store) GetSnapshot(context.Context) (hostapi.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ready(); err != nil {
		return hostapi.Snapshot{}, err
	}
	b, err := os.ReadFile(filepath.Join(s.dir, "snapshot"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return hostapi.Snapshot{}, hostapi.Errorf(hostapi.CodeNotFound, "no snapshot")
	case err != nil || len(b) < 9:
		return hostapi.Snapshot{}, hostapi.Errorf(hostapi.CodeCorrupt, "snapshot: %d bytes (%v)", len(b), err)
	}
	return hostapi.Snapshot{Index: binary.BigEndian.Uint64(b), Data: b[8:]}, nil
}

// Close releases the lock. It is idempotent.
func (s *Store) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opened && !s.closed {
		_ = s.lock.Close() // closing the file releases its lock
	}
	s.closed = true
	return nil
}

// writeDurably writes parts to path through a temp file: the rename is the
// single atomic step, and both fsyncs come before the caller acknowledges.
func writeDurably(dir, path string, parts ...[]byte) (err error) {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return hostapi.Errorf(hostapi.CodeInternal, "create %s: %v", tmp, err)
	}
	for _, p := range parts {
		if _, err = f.Write(p); err != nil {
			break
		}
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return hostapi.Errorf(hostapi.CodeInternal, "write %s: %v", path, err)
	}
	return nil
}
