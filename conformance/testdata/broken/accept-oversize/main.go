// Command accept-oversize is a deliberately broken store plugin for the
// conformance suite's own tests: the example store, except that it
// acknowledges entries and snapshots over the contract's size limits
// without storing them. Everything else behaves.
package main

import (
	"context"

	storefiles "github.com/rustynet/rustynet/examples/store-files"
	"github.com/rustynet/rustynet/hostapi"
)

type store struct{ *storefiles.Store }

func (s *store) Append(ctx context.Context, e hostapi.LogEntry) error {
	if len(e.Data) > hostapi.MaxEntryBytes {
		return nil
	}
	return s.Store.Append(ctx, e)
}

func (s *store) PutSnapshot(ctx context.Context, snap hostapi.Snapshot) error {
	if len(snap.Data) > hostapi.MaxSnapshotBytes {
		return nil
	}
	return s.Store.PutSnapshot(ctx, snap)
}

func main() { hostapi.ServeStore(&store{Store: &storefiles.Store{}}) }
