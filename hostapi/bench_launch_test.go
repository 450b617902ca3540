package hostapi_test

import (
	"context"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/testbin"
)

// BenchmarkLaunchSteps launches a plugin as the daemon does and times each
// step from the call, cumulatively: the process exists (spawned), its
// handshake line has been read (handshake: the plugin's runtime start, its
// certificate, its listener), the mutual-TLS handshake has completed (tls),
// the first health check has answered (ready: the launch returns), and a
// first Info call has answered (info). Kill is not timed. The plugins are
// this test binary's store helper (plugin=helper) and the rustynet binary,
// built once per run, as `rustynet plugin store-file` and `rustynet plugin
// backend-netstack`. Metrics: STEP-p50-µs and STEP-p95-µs for each step.
// Run it with a fixed count, e.g. -benchtime 200x.
func BenchmarkLaunchSteps(b *testing.B) {
	self, err := osExecutable()
	if err != nil {
		b.Fatal(err)
	}
	var bin string
	rustynet := func() string { // built once, for the whole benchmark
		if bin == "" {
			bin = testbin.Package(b, "github.com/rustynet/rustynet/cmd/rustynet", "rustynet")
		}
		return bin
	}
	store := func(ctx context.Context, cfg hostapi.LaunchConfig) (func(context.Context) error, func(), error) {
		c, err := hostapi.LaunchStore(ctx, cfg)
		if err != nil {
			return nil, nil, err
		}
		return func(ctx context.Context) error { _, err := c.Info(ctx); return err }, c.Kill, nil
	}
	backend := func(ctx context.Context, cfg hostapi.LaunchConfig) (func(context.Context) error, func(), error) {
		c, err := hostapi.LaunchBackend(ctx, cfg)
		if err != nil {
			return nil, nil, err
		}
		return func(ctx context.Context) error { _, err := c.Info(ctx); return err }, c.Kill, nil
	}
	for _, tc := range []struct {
		name   string
		cfg    func() hostapi.LaunchConfig
		launch func(context.Context, hostapi.LaunchConfig) (info func(context.Context) error, kill func(), err error)
	}{
		{"plugin=helper", func() hostapi.LaunchConfig {
			return hostapi.LaunchConfig{Path: self, Env: []string{helperEnv + "=store"}}
		}, store},
		{"plugin=store-file", func() hostapi.LaunchConfig {
			return hostapi.LaunchConfig{Path: rustynet(), Args: []string{"plugin", "store-file"}}
		}, store},
		{"plugin=backend-netstack", func() hostapi.LaunchConfig {
			return hostapi.LaunchConfig{Path: rustynet(), Args: []string{"plugin", "backend-netstack"}}
		}, backend},
	} {
		b.Run(tc.name, func(b *testing.B) {
			benchLaunchSteps(b, tc.cfg(), tc.launch)
		})
	}
}

func benchLaunchSteps(b *testing.B, cfg hostapi.LaunchConfig, launch func(context.Context, hostapi.LaunchConfig) (func(context.Context) error, func(), error)) {
	steps := append(append([]string(nil), hostapi.LaunchSteps...), "info")
	got := make(map[string][]time.Duration, len(steps))
	var mu sync.Mutex // guards got
	for b.Loop() {
		start := time.Now()
		mark := func(step string) {
			d := time.Since(start)
			mu.Lock()
			got[step] = append(got[step], d)
			mu.Unlock()
		}
		ctx, cancel := context.WithTimeout(b.Context(), testTimeout)
		info, kill, err := launch(ctx, hostapi.WithLaunchTrace(cfg, mark))
		if err != nil {
			cancel()
			b.Fatal(err)
		}
		err = info(ctx)
		mark("info")
		cancel()
		b.StopTimer()
		kill()
		b.StartTimer()
		if err != nil {
			b.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, step := range steps {
		l := got[step]
		if len(l) == 0 {
			continue
		}
		b.ReportMetric(float64(percentile(l, 0.50))/float64(time.Microsecond), step+"-p50-µs")
		b.ReportMetric(float64(percentile(l, 0.95))/float64(time.Microsecond), step+"-p95-µs")
	}
}

// percentile returns the q-quantile of l by nearest rank, the rule of
// benchmarks.Latencies (which this package does not import: it would make
// hostapi's tests build the whole core).
func percentile(l []time.Duration, q float64) time.Duration {
	s := slices.Clone(l)
	slices.Sort(s)
	return s[max(int(math.Ceil(q*float64(len(s)))), 1)-1]
}
