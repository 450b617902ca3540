package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/rustynet/rustynet/core/controlapi"
)

// StatusSource is what the metrics read at each scrape: the daemon.
type StatusSource interface {
	Status(ctx context.Context) (controlapi.Status, error)
}

// scrapeTimeout bounds the status read of one scrape.
const scrapeTimeout = 10 * time.Second

// applyBuckets are the apply latency histogram's buckets, in seconds:
// 0.5 ms to 10 s (the target is 5 ms p95; anything near a second is a
// problem worth seeing).
var applyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}

// Metrics holds a node's metrics registry. Create it with New.
type Metrics struct {
	reg *prometheus.Registry
	src StatusSource
	now func() time.Time

	applied    prometheus.Histogram
	rejections *prometheus.CounterVec
	fetches    *prometheus.CounterVec
}

// New returns the metrics of the node src reports on; now is the clock
// (nil: time.Now). Its Recorder is to be the daemon's Observer.
func New(src StatusSource, now func() time.Time) *Metrics {
	if now == nil {
		now = time.Now
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		src: src,
		now: now,
		applied: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "rustynet_update_apply_duration_seconds",
			Help:    "Time from receiving a signed update to it being verified, durable and in the data plane.",
			Buckets: applyBuckets,
		}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rustynet_update_rejections_total",
			Help: "Updates refused, by membership error code.",
		}, []string{"code"}),
		fetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rustynet_feed_fetches_total",
			Help: "Fetches of the update feed, by outcome (ok, failing, rejected).",
		}, []string{"result"}),
	}
	for _, r := range []string{controlapi.FeedOK, controlapi.FeedFailing, controlapi.FeedRejected} {
		m.fetches.WithLabelValues(r) // present at 0 before the first fetch
	}
	m.reg.MustRegister(m.applied, m.rejections, m.fetches, statusCollector{m},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the registry every metric is in.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Recorder returns what counts the daemon's events: pass it as
// daemon.Options.Observer.
func (m *Metrics) Recorder() *Recorder { return &Recorder{m} }

// Recorder counts the daemon's events (daemon.Observer). Its methods only
// update counters: they never block.
type Recorder struct{ m *Metrics }

// UpdateApplied observes an applied update's latency.
func (r *Recorder) UpdateApplied(latency time.Duration) { r.m.applied.Observe(latency.Seconds()) }

// UpdateRejected counts a refused update.
func (r *Recorder) UpdateRejected(code string) { r.m.rejections.WithLabelValues(code).Inc() }

// FeedFetched counts a fetch of the feed by outcome.
func (r *Recorder) FeedFetched(state string) { r.m.fetches.WithLabelValues(state).Inc() }
