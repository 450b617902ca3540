package pluginhost

import (
	"context"
	"fmt"
	"os"
	"time"

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
func (i storeInstance) Kill()                 { killWithin(i.StoreClient.Kill, i.Done(), i.Pid(), killGrace) }

type backendInstance struct{ *hostapi.BackendClient }

func (i backendInstance) Plugin() hostapi.Backend { return i.BackendClient }
func (i backendInstance) Kill()                   { killWithin(i.BackendClient.Kill, i.Done(), i.Pid(), killGrace) }

// killGrace is how long a plugin has to exit once asked to, before its
// process is killed outright.
const killGrace = 3 * time.Second

// killWithin runs kill, which asks the plugin to exit and waits until it
// has. A plugin that answers nothing (hung, or stopped) never takes the
// request, and go-plugin then waits for ever; so if the process is still
// there after grace it is killed, which ends the wait. It returns once
// kill has.
func killWithin(kill func(), exited <-chan struct{}, pid int, grace time.Duration) {
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		kill()
	}()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-finished:
		return
	case <-exited:
	case <-t.C:
		if p, err := os.FindProcess(pid); err == nil {
			p.Kill()
		}
	}
	<-finished
}
