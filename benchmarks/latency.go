package benchmarks

import (
	"math"
	"slices"
	"testing"
	"time"
)

// Latencies are the durations of the iterations of one benchmark run, in
// order.
type Latencies []time.Duration

// Since records the time elapsed since start.
func (l *Latencies) Since(start time.Time) { *l = append(*l, time.Since(start)) }

// Percentile returns the q-quantile (0 < q ≤ 1) by nearest rank: the
// smallest recorded latency that at least q of all are at or below. It
// returns 0 if nothing was recorded.
func (l Latencies) Percentile(q float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	rank := int(math.Ceil(q * float64(len(s))))
	return s[max(rank, 1)-1]
}

// Report reports the 50th, 95th and 99th percentiles on b as the metrics
// "p50-µs", "p95-µs" and "p99-µs".
func (l Latencies) Report(b *testing.B) {
	for _, p := range []struct {
		q    float64
		unit string
	}{{0.50, "p50-µs"}, {0.95, "p95-µs"}, {0.99, "p99-µs"}} {
		b.ReportMetric(float64(l.Percentile(p.q))/float64(time.Microsecond), p.unit)
	}
}
