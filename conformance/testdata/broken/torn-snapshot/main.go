// Command torn-snapshot is a deliberately broken store plugin for the
// conformance suite's own tests: the example store, except that it
// overwrites its snapshot in place, chunk by chunk (each chunk synced), so
// a SIGKILL during PutSnapshot leaves a mixture of two snapshots.
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	storefiles "github.com/rustynet/rustynet/examples/store-files"
	"github.com/rustynet/rustynet/hostapi"
)

const chunk = 32 << 10

type store struct {
	*storefiles.Store
	mu  sync.Mutex // guards dir and the snapshot file
	dir string
}

func (s *store) Open(ctx context.Context, cfg hostapi.StoreConfig) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.Store.Open(ctx, cfg); err != nil {
		return err
	}
	s.dir = cfg.Dir
	return nil
}

func (s *store) path() string { return filepath.Join(s.dir, "snapshot-in-place") }

func (s *store) PutSnapshot(ctx context.Context, snap hostapi.Snapshot) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.Store.Head(ctx); err != nil {
		return err
	}
	if len(snap.Data) == 0 || len(snap.Data) > hostapi.MaxSnapshotBytes {
		return hostapi.Errorf(hostapi.CodeInvalidArgument, "snapshot of %d bytes", len(snap.Data))
	}
	f, err := os.OpenFile(s.path(), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return hostapi.Errorf(hostapi.CodeInternal, "%v", err)
	}
	defer f.Close()
	b := binary.BigEndian.AppendUint64(nil, snap.Index)
	b = append(b, snap.Data...)
	for len(b) > 0 {
		n := min(chunk, len(b))
		if _, err := f.Write(b[:n]); err != nil {
			return hostapi.Errorf(hostapi.CodeInternal, "%v", err)
		}
		if err := f.Sync(); err != nil {
			return hostapi.Errorf(hostapi.CodeInternal, "%v", err)
		}
		b = b[n:]
	}
	return nil
}

func (s *store) GetSnapshot(ctx context.Context) (hostapi.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.Store.Head(ctx); err != nil {
		return hostapi.Snapshot{}, err
	}
	b, err := os.ReadFile(s.path())
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return hostapi.Snapshot{}, hostapi.Errorf(hostapi.CodeNotFound, "no snapshot")
	case err != nil || len(b) < 8:
		return hostapi.Snapshot{}, hostapi.Errorf(hostapi.CodeCorrupt, "snapshot of %d bytes (%v)", len(b), err)
	}
	return hostapi.Snapshot{Index: binary.BigEndian.Uint64(b), Data: b[8:]}, nil
}

// Truncate removes the snapshot kept in place if its index is above after,
// then has the example truncate the log: only PutSnapshot is broken.
func (s *store) Truncate(ctx context.Context, after uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	head, err := s.Store.Head(ctx)
	if err != nil || after >= head {
		return s.Store.Truncate(ctx, after) // the error, CONFLICT, or nothing to remove
	}
	b, err := os.ReadFile(s.path())
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil || len(b) < 8:
		return hostapi.Errorf(hostapi.CodeCorrupt, "snapshot of %d bytes (%v)", len(b), err)
	case binary.BigEndian.Uint64(b) > after:
		if err := os.Remove(s.path()); err != nil {
			return hostapi.Errorf(hostapi.CodeInternal, "%v", err)
		}
		d, err := os.Open(s.dir)
		if err != nil {
			return hostapi.Errorf(hostapi.CodeInternal, "%v", err)
		}
		defer d.Close()
		if err := d.Sync(); err != nil {
			return hostapi.Errorf(hostapi.CodeInternal, "%v", err)
		}
	}
	return s.Store.Truncate(ctx, after)
}

func main() { hostapi.ServeStore(&store{Store: &storefiles.Store{}}) }
