package storefile

import (
	"context"
	"errors"
	"io/fs"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/plugins/internal/statedir"
	"github.com/rustynet/rustynet/plugins/internal/storerules"
)

// PutSnapshot atomically and durably replaces the snapshot, as hostapi.Store
// specifies. ctx is checked before the write starts.
func (s *Store) PutSnapshot(ctx context.Context, snap hostapi.Snapshot) error {
	return s.gate.PutSnapshot(ctx, snap, func() error {
		if err := s.checkWritable(); err != nil {
			return err
		}
		root := s.files.Load().root
		if err := writeFrame(root, snapshotTmpName, snapshotName, magicSnapshot, snap.Index, snap.Data); err != nil {
			return err
		}
		if err := root.Sync(); err != nil {
			// The previous snapshot is gone from the namespace and the new
			// one may not be durable; nothing can restore the old state.
			return s.fail(statedir.PathError("sync directory", s.root, err))
		}
		return nil
	})
}

// GetSnapshot returns the current snapshot, or hostapi.ErrNotFound if none
// was ever put. A damaged snapshot file fails with hostapi.ErrCorrupt.
func (s *Store) GetSnapshot(ctx context.Context) (hostapi.Snapshot, error) {
	if err := s.gate.Enter(); err != nil {
		return hostapi.Snapshot{}, err
	}
	defer s.gate.Leave()
	if err := ctx.Err(); err != nil {
		return hostapi.Snapshot{}, storerules.CtxError(err)
	}
	root := s.files.Load().root
	if root == nil {
		return hostapi.Snapshot{}, hostapi.Errorf(hostapi.CodeNotFound, "no snapshot in %s (the directory does not exist)", s.root)
	}
	index, data, err := readFrame(root, snapshotName, magicSnapshot, hostapi.MaxSnapshotBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return hostapi.Snapshot{}, hostapi.Errorf(hostapi.CodeNotFound, "no snapshot in %s", s.root)
	}
	if err != nil {
		return hostapi.Snapshot{}, err
	}
	return hostapi.Snapshot{Index: index, Data: data}, nil
}
