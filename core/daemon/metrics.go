package daemon

import "time"

// Observer receives the daemon's events that its status does not keep, for
// metrics (core/metrics implements it). The daemon calls it on its own
// goroutines, UpdateApplied and UpdateRejected with d.mu held: a method
// must return at once and must not call the daemon.
type Observer interface {
	// UpdateApplied reports an update applied through ApplyUpdate, and the
	// time from its receipt to the data plane having changed.
	UpdateApplied(latency time.Duration)
	// UpdateRejected reports an update refused with a membership error
	// code, whether it came through ApplyUpdate or the feed.
	UpdateRejected(code string)
	// FeedFetched reports the outcome of one fetch of the feed: a
	// controlapi feed state (FeedOK, FeedFailing or FeedRejected).
	FeedFetched(state string)
}

// nopObserver ignores every event.
type nopObserver struct{}

func (nopObserver) UpdateApplied(time.Duration) {}
func (nopObserver) UpdateRejected(string)       {}
func (nopObserver) FeedFetched(string)          {}

// observer returns Options.Observer, or one that ignores everything.
func (d *Daemon) observer() Observer {
	if d.opts.Observer == nil {
		return nopObserver{}
	}
	return d.opts.Observer
}
