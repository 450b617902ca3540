package pluginhost

import (
	"context"
	"fmt"

	"github.com/rustynet/rustynet/hostapi"
)

// StoreLauncher returns a LaunchFunc that starts the store plugin cfg
// describes through hostapi.LaunchStore, exactly as every other launcher of
// the project does.
func StoreLauncher(cfg hostapi.LaunchConfig) LaunchFunc[hostapi.Store] {
	return func(ctx context.Context) (Instance[hostapi.Store], error) {
		c, err := hostapi.LaunchStore(ctx, cfg)
		if err != nil {
			return nil, classify(err)
		}
		return storeInstance{c}, nil
	}
}

// BackendLauncher returns a LaunchFunc that starts the backend plugin cfg
// describes through hostapi.LaunchBackend.
func BackendLauncher(cfg hostapi.LaunchConfig) LaunchFunc[hostapi.Backend] {
	return func(ctx context.Context) (Instance[hostapi.Backend], error) {
		c, err := hostapi.LaunchBackend(ctx, cfg)
		if err != nil {
			return nil, classify(err)
		}
		return backendInstance{c}, nil
	}
}

// classify marks launch failures a retry cannot fix: a bad configuration, a
// missing binary, a pinned-hash mismatch or no common protocol version.
func classify(err error) error {
	switch hostapi.CodeOf(err) {
	case hostapi.CodeInvalidArgument, hostapi.CodeNotFound, hostapi.CodePermission, hostapi.CodeUnsupported:
		return fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	return err
}

type storeInstance struct{ *hostapi.StoreClient }

func (i storeInstance) Plugin() hostapi.Store { return i.StoreClient }

type backendInstance struct{ *hostapi.BackendClient }

func (i backendInstance) Plugin() hostapi.Backend { return i.BackendClient }
