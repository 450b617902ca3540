package daemon

import (
	"context"
	"time"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/pluginhost"
	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/version"
)

// pluginInfoTimeout bounds the Info calls that fill the plugins' versions
// in status: a plugin too slow to say its version leaves it empty.
const pluginInfoTimeout = time.Second

// buildStatus is the daemon's own build.
func buildStatus() controlapi.BuildStatus {
	in := version.Get()
	return controlapi.BuildStatus{Version: in.Version, Revision: in.Revision, Modified: in.Modified, Date: in.Date,
		GoVersion: in.GoVersion, Protocols: []int{hostapi.ProtocolVersion}}
}

// fillVersions sets the daemon's build and each running plugin's version
// (from its Info) in s. It takes no daemon lock.
func (d *Daemon) fillVersions(ctx context.Context, s *controlapi.Status) {
	s.Build = buildStatus()
	ctx, cancel := context.WithTimeout(ctx, pluginInfoTimeout)
	defer cancel()
	if s.Store.State == string(pluginhost.StateRunning) {
		if info, err := pluginhost.Store(d.store).Info(ctx); err == nil {
			s.Store.Version = info.Version
		}
	}
	if s.Backend.Plugin.State == string(pluginhost.StateRunning) {
		if info, err := d.backend.Info(ctx); err == nil {
			s.Backend.Plugin.Version = info.Version
		}
	}
}

// lastUpdateAt is when the newest trusted update was created (its signed
// created_at); zero without one.
func (d *Daemon) lastUpdateAt() time.Time {
	newest := d.ledger.Entries(d.ledger.Status().Head, 1) // one entry, not a copy of the log
	if len(newest) == 0 {
		return time.Time{}
	}
	return time.Unix(newest[0].Body.CreatedAt, 0).UTC()
}
