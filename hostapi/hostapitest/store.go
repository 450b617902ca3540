package hostapitest

import (
	"context"
	"path/filepath"
	"sync"

	"github.com/rustynet/rustynet/hostapi"
)

// Disk is the medium in-memory Stores keep their data on: one log and one
// snapshot per directory, and a lock per directory. It outlives the Stores
// using it, so a new Store on the same Disk sees everything an earlier one
// stored, as a store plugin restarted on the same directory would. Stores on
// one Disk stand for processes on one machine: a directory one of them has
// open is locked against the others. A Disk is safe for concurrent use.
type Disk struct {
	mu   sync.Mutex // guards dirs and every dirState
	dirs map[string]*dirState
}

// dirState is one directory on a Disk.
type dirState struct {
	locked   bool
	entries  []hostapi.LogEntry // entries[i].Index == i+1
	snapshot *hostapi.Snapshot
}

// NewDisk returns an empty Disk.
func NewDisk() *Disk { return &Disk{dirs: make(map[string]*dirState)} }

// NewStore returns a new, unopened Store on d.
func (d *Disk) NewStore() *Store { return &Store{disk: d} }

// NewStore returns a new, unopened Store on a Disk of its own.
func NewStore() *Store { return NewDisk().NewStore() }

// lifecycle is where a Store or Backend is in its life.
type lifecycle int

const (
	stateNew lifecycle = iota
	stateOpen
	stateClosed
)

// Store is an in-memory hostapi.Store. It honours every clause of the Store
// contract except durability across the death of its process (its Disk
// lives in memory) and file permissions (it creates no files, and does not
// advertise hostapi.StoreCapPermissions). It advertises hostapi.StoreCapLock:
// a directory open in one Store of a Disk is locked against the others; and
// hostapi.StoreCapTruncate, whose removal it makes in one step. Data
// is copied in and out. Once closed, a Store stays closed: open a new Store
// on the same Disk to reopen a directory. Safe for concurrent use.
type Store struct {
	disk *Disk

	mu    sync.Mutex // guards the fields below
	state lifecycle
	dir   string
	fault func(ctx context.Context, op string) error
}

var _ hostapi.Store = (*Store)(nil)

// SetFault installs f, which every method calls first (after checking ctx,
// and without holding any lock) with its ctx and its own name ("Info",
// "Open", "Append", …): a non-nil error is returned as is and the method does
// nothing else. f may block, e.g. until ctx is done. A nil f removes the
// hook.
func (s *Store) SetFault(f func(ctx context.Context, op string) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// begin runs the checks every method starts with: ctx, the fault hook and,
// if needOpen, that the Store is open. It returns with s.mu held when it
// returns nil.
func (s *Store) begin(ctx context.Context, op string, needOpen bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	fault := s.fault
	s.mu.Unlock()
	if fault != nil {
		if err := fault(ctx, op); err != nil {
			return err
		}
	}
	s.mu.Lock()
	if needOpen && s.state != stateOpen {
		s.mu.Unlock()
		return hostapi.Errorf(hostapi.CodeClosed, "store is not open")
	}
	return nil
}

// Info describes the store: name "memory", version "test", StoreCapLock and
// StoreCapTruncate.
func (s *Store) Info(ctx context.Context) (hostapi.StoreInfo, error) {
	if err := s.begin(ctx, "Info", false); err != nil {
		return hostapi.StoreInfo{}, err
	}
	defer s.mu.Unlock()
	return hostapi.StoreInfo{Name: "memory", Version: "test", Capabilities: hostapi.StoreCapLock | hostapi.StoreCapTruncate}, nil
}

// Open opens cfg.Dir, which must be an absolute, clean path.
func (s *Store) Open(ctx context.Context, cfg hostapi.StoreConfig) error {
	if err := s.begin(ctx, "Open", false); err != nil {
		return err
	}
	defer s.mu.Unlock()
	switch s.state {
	case stateOpen:
		return hostapi.Errorf(hostapi.CodeConflict, "store is already open on %s", s.dir)
	case stateClosed:
		return hostapi.Errorf(hostapi.CodeClosed, "store was closed")
	}
	if !filepath.IsAbs(cfg.Dir) || filepath.Clean(cfg.Dir) != cfg.Dir {
		return hostapi.Errorf(hostapi.CodeInvalidArgument, "store directory %q is not an absolute, clean path", cfg.Dir)
	}
	s.disk.mu.Lock()
	defer s.disk.mu.Unlock()
	d := s.disk.dirs[cfg.Dir]
	if d == nil {
		d = &dirState{}
		s.disk.dirs[cfg.Dir] = d
	}
	if d.locked {
		return hostapi.Errorf(hostapi.CodeLocked, "store directory %s is locked by another store", cfg.Dir)
	}
	d.locked = true
	s.state, s.dir = stateOpen, cfg.Dir
	return nil
}

// withDir runs f on the open directory's state under the Disk's lock.
func (s *Store) withDir(f func(d *dirState) error) error {
	s.disk.mu.Lock()
	defer s.disk.mu.Unlock()
	return f(s.disk.dirs[s.dir])
}

// Append appends e at Head()+1.
func (s *Store) Append(ctx context.Context, e hostapi.LogEntry) error {
	if err := s.begin(ctx, "Append", true); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if len(e.Data) == 0 || len(e.Data) > hostapi.MaxEntryBytes {
		return hostapi.Errorf(hostapi.CodeInvalidArgument, "entry data is %d bytes, want 1 to %d", len(e.Data), hostapi.MaxEntryBytes)
	}
	return s.withDir(func(d *dirState) error {
		if want := uint64(len(d.entries)) + 1; e.Index != want {
			return hostapi.Errorf(hostapi.CodeConflict, "append at index %d, want %d", e.Index, want)
		}
		d.entries = append(d.entries, hostapi.LogEntry{Index: e.Index, Data: clone(e.Data)})
		return nil
	})
}

// Truncate removes the entries above after, and the snapshot if its index
// is above after, in one step under the Disk's lock; after above the head
// fails with ErrConflict.
func (s *Store) Truncate(ctx context.Context, after uint64) error {
	if err := s.begin(ctx, "Truncate", true); err != nil {
		return err
	}
	defer s.mu.Unlock()
	return s.withDir(func(d *dirState) error {
		head := uint64(len(d.entries))
		switch {
		case after > head:
			return hostapi.Errorf(hostapi.CodeConflict, "truncate after index %d beyond head %d", after, head)
		case after == head:
			return nil
		}
		if d.snapshot != nil && d.snapshot.Index > after {
			d.snapshot = nil
		}
		clear(d.entries[after:]) // drop the removed entries' data
		d.entries = d.entries[:after]
		return nil
	})
}

// Head returns the index of the last entry, 0 for an empty log.
func (s *Store) Head(ctx context.Context) (uint64, error) {
	if err := s.begin(ctx, "Head", true); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	var head uint64
	_ = s.withDir(func(d *dirState) error {
		head = uint64(len(d.entries))
		return nil
	})
	return head, nil
}

// ReadLog returns copies of up to limit entries from index from.
func (s *Store) ReadLog(ctx context.Context, from uint64, limit int) ([]hostapi.LogEntry, error) {
	if err := s.begin(ctx, "ReadLog", true); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if from == 0 {
		return nil, hostapi.Errorf(hostapi.CodeInvalidArgument, "read from index 0; the log starts at 1")
	}
	if limit <= 0 {
		return nil, hostapi.Errorf(hostapi.CodeInvalidArgument, "read limit %d, want at least 1", limit)
	}
	var out []hostapi.LogEntry
	err := s.withDir(func(d *dirState) error {
		head := uint64(len(d.entries))
		if from > head+1 {
			return hostapi.Errorf(hostapi.CodeNotFound, "read from index %d beyond head %d", from, head)
		}
		n := min(uint64(limit), head+1-from)
		out = make([]hostapi.LogEntry, 0, n)
		for _, e := range d.entries[from-1 : from-1+n] {
			out = append(out, hostapi.LogEntry{Index: e.Index, Data: clone(e.Data)})
		}
		return nil
	})
	return out, err
}

// PutSnapshot replaces the snapshot with a copy of snap.
func (s *Store) PutSnapshot(ctx context.Context, snap hostapi.Snapshot) error {
	if err := s.begin(ctx, "PutSnapshot", true); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if len(snap.Data) == 0 || len(snap.Data) > hostapi.MaxSnapshotBytes {
		return hostapi.Errorf(hostapi.CodeInvalidArgument, "snapshot data is %d bytes, want 1 to %d", len(snap.Data), hostapi.MaxSnapshotBytes)
	}
	return s.withDir(func(d *dirState) error {
		d.snapshot = &hostapi.Snapshot{Index: snap.Index, Data: clone(snap.Data)}
		return nil
	})
}

// GetSnapshot returns a copy of the snapshot, or ErrNotFound.
func (s *Store) GetSnapshot(ctx context.Context) (hostapi.Snapshot, error) {
	if err := s.begin(ctx, "GetSnapshot", true); err != nil {
		return hostapi.Snapshot{}, err
	}
	defer s.mu.Unlock()
	var out hostapi.Snapshot
	err := s.withDir(func(d *dirState) error {
		if d.snapshot == nil {
			return hostapi.Errorf(hostapi.CodeNotFound, "no snapshot")
		}
		out = hostapi.Snapshot{Index: d.snapshot.Index, Data: clone(d.snapshot.Data)}
		return nil
	})
	return out, err
}

// Close releases the directory's lock. It is idempotent.
func (s *Store) Close(ctx context.Context) error {
	if err := s.begin(ctx, "Close", false); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if s.state == stateOpen {
		_ = s.withDir(func(d *dirState) error {
			d.locked = false
			return nil
		})
	}
	s.state = stateClosed
	return nil
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }
