// Command info-changes is a deliberately broken store plugin for the
// conformance suite's own tests: the example store, except that Info
// reports another version once the store is open. Everything else
// behaves.
package main

import (
	"context"
	"sync/atomic"

	storefiles "github.com/rustynet/rustynet/examples/store-files"
	"github.com/rustynet/rustynet/hostapi"
)

type store struct {
	*storefiles.Store
	opened atomic.Bool
}

func (s *store) Open(ctx context.Context, cfg hostapi.StoreConfig) error {
	err := s.Store.Open(ctx, cfg)
	if err == nil {
		s.opened.Store(true)
	}
	return err
}

func (s *store) Info(ctx context.Context) (hostapi.StoreInfo, error) {
	info, err := s.Store.Info(ctx)
	if s.opened.Load() {
		info.Version += "+opened"
	}
	return info, err
}

func main() { hostapi.ServeStore(&store{Store: &storefiles.Store{}}) }
