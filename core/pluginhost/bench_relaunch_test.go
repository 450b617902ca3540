//go:build unix

package pluginhost

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/poll"
)

// BenchmarkRelaunchAfterKill kills a healthy store plugin process (this
// test binary serving the file store) with SIGKILL and times, from the
// kill, each step of the supervisor's recovery, cumulatively: the exit
// noticed (exited: OnFailure), the relaunch begun (launching: the dead
// instance released, any backoff waited), the new process launched
// (launched: handshake, TLS, first health check), and Setup done (serving:
// the store reopened, OnRelaunch). Before each kill the running instance
// has proved healthy, so each is a healthy plugin's first crash; the
// breaker is set not to open, as a loop of kills is no crash loop. Metrics:
// STEP-p50-µs and STEP-p95-µs. Run it with a fixed count, e.g.
// -benchtime 50x.
func BenchmarkRelaunchAfterKill(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "state")
	launch := StoreLauncher(selfLaunch(b, "store"))
	var (
		mu      sync.Mutex // guards the fields below
		pid     int
		killed  time.Time
		steps   = map[string][]time.Duration{}
		serving = make(chan struct{}, 1)
	)
	mark := func(step string) {
		mu.Lock()
		defer mu.Unlock()
		if !killed.IsZero() {
			steps[step] = append(steps[step], time.Since(killed))
		}
	}
	s, err := Start(context.Background(), Config[hostapi.Store]{
		Name: "store-file",
		Launch: func(ctx context.Context) (Instance[hostapi.Store], error) {
			mark("launching")
			inst, err := launch(ctx)
			if err == nil {
				mark("launched")
				mu.Lock()
				pid = inst.(storeInstance).Pid()
				mu.Unlock()
			}
			return inst, err
		},
		Setup: func(ctx context.Context, st hostapi.Store) error {
			return st.Open(ctx, hostapi.StoreConfig{Dir: dir})
		},
		OnFailure: func(Status) { mark("exited") },
		OnRelaunch: func(Status) {
			mark("serving")
			serving <- struct{}{}
		},
		BreakerRestarts: math.MaxInt32,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for b.Loop() {
		b.StopTimer()
		// The running instance answers pings: it has proved healthy.
		if err := poll.Until(20*time.Second, time.Millisecond, func() bool { return s.Status().PingLatency > 0 }); err != nil {
			b.Fatal(err)
		}
		mu.Lock()
		victim := pid
		killed = time.Now()
		mu.Unlock()
		b.StartTimer()
		if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
			b.Fatal(err)
		}
		select {
		case <-serving:
		case <-time.After(20 * time.Second):
			b.Fatalf("not serving again 20 s after the kill; status %+v", s.Status())
		}
	}
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	for _, step := range []string{"exited", "launching", "launched", "serving"} {
		l := slices.Clone(steps[step])
		if len(l) == 0 {
			continue
		}
		slices.Sort(l)
		at := func(q float64) float64 {
			return float64(l[max(int(math.Ceil(q*float64(len(l)))), 1)-1]) / float64(time.Microsecond)
		}
		b.ReportMetric(at(0.50), step+"-p50-µs")
		b.ReportMetric(at(0.95), step+"-p95-µs")
	}
}
