// Command lose-appends is a deliberately broken store plugin for the
// conformance suite's own tests: the example store, except that it
// acknowledges appends before they are durable. It keeps them in memory
// and writes them out only when it is closed, so a SIGKILL loses
// acknowledged entries. Everything else behaves.
package main

import (
	"context"
	"sync"

	storefiles "github.com/rustynet/rustynet/examples/store-files"
	"github.com/rustynet/rustynet/hostapi"
)

type store struct {
	*storefiles.Store
	mu      sync.Mutex // guards pending
	pending []hostapi.LogEntry
}

func (s *store) Append(ctx context.Context, e hostapi.LogEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, err := s.Store.Head(ctx)
	if err != nil {
		return err
	}
	if len(e.Data) == 0 || len(e.Data) > hostapi.MaxEntryBytes {
		return hostapi.Errorf(hostapi.CodeInvalidArgument, "entry of %d bytes", len(e.Data))
	}
	if want := h + uint64(len(s.pending)) + 1; e.Index != want {
		return hostapi.Errorf(hostapi.CodeConflict, "append at %d, want %d", e.Index, want)
	}
	s.pending = append(s.pending, hostapi.LogEntry{Index: e.Index, Data: append([]byte(nil), e.Data...)})
	return nil
}

func (s *store) Head(ctx context.Context) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, err := s.Store.Head(ctx)
	return h + uint64(len(s.pending)), err
}

func (s *store) ReadLog(ctx context.Context, from uint64, limit int) ([]hostapi.LogEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, err := s.Store.Head(ctx)
	if err != nil || from == 0 || limit <= 0 {
		return s.Store.ReadLog(ctx, from, limit)
	}
	total := h + uint64(len(s.pending))
	if from > total+1 {
		return nil, hostapi.Errorf(hostapi.CodeNotFound, "index %d is beyond head %d", from, total)
	}
	out := []hostapi.LogEntry{}
	if from <= h {
		if out, err = s.Store.ReadLog(ctx, from, limit); err != nil {
			return nil, err
		}
	}
	for i := max(from, h+1); i <= total && len(out) < limit; i++ {
		out = append(out, s.pending[i-h-1])
	}
	return out, nil
}

// Info does not advertise hostapi.StoreCapTruncate, and Truncate answers
// UNSUPPORTED: a Truncate would have to reckon with the entries held back,
// and the defect is in Append alone.
func (s *store) Info(ctx context.Context) (hostapi.StoreInfo, error) {
	info, err := s.Store.Info(ctx)
	info.Capabilities &^= hostapi.StoreCapTruncate
	return info, err
}

func (s *store) Truncate(context.Context, uint64) error {
	return hostapi.Errorf(hostapi.CodeUnsupported, "this store does not truncate")
}

func (s *store) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.pending {
		if err := s.Store.Append(ctx, e); err != nil {
			return err
		}
	}
	s.pending = nil
	return s.Store.Close(ctx)
}

func main() { hostapi.ServeStore(&store{Store: &storefiles.Store{}}) }
