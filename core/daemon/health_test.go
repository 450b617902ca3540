package daemon

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/pluginhost"
	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/poll"
)

// TestBrokenStoreDegradesTheNode breaks the store plugin for good (every
// relaunch fails) until its breaker opens: status says the node is
// degraded and why, applies fail at once as UNAVAILABLE (retryable), and
// only with ExitOnBrokenPlugin does the daemon ask to be stopped.
func TestBrokenStoreDegradesTheNode(t *testing.T) {
	for _, exit := range []bool{false, true} {
		t.Run(map[bool]string{false: "keeps running", true: "exit on broken plugin"}[exit], func(t *testing.T) {
			h := newHarness(t)
			h.opts.ExitOnBrokenPlugin = exit
			var (
				mu      sync.Mutex
				live    *inst[hostapi.Store]
				crashes atomic.Bool
			)
			h.opts.Store = func(context.Context) (pluginhost.Instance[hostapi.Store], error) {
				if crashes.Load() {
					return nil, errors.New("the store plugin crashes at start")
				}
				i := newInst[hostapi.Store](h.disk.NewStore())
				mu.Lock()
				live = i
				mu.Unlock()
				return i, nil
			}
			d := h.start()
			crashes.Store(true)
			mu.Lock()
			live.Kill()
			mu.Unlock()

			var st controlapi.Status
			if err := poll.Until(30*time.Second, 5*time.Millisecond, func() bool {
				st = h.status()
				return st.Store.State == string(pluginhost.StateBroken)
			}); err != nil {
				t.Fatalf("the store never showed broken: %v; store %+v", err, st.Store)
			}
			if st.Store.NextAttempt.IsZero() || st.Health.State != controlapi.HealthDegraded ||
				!strings.Contains(strings.Join(st.Health.Reasons, "\n"), "store plugin") {
				t.Errorf("store %+v, health %+v; want a next attempt, and degraded because of the store plugin", st.Store, st.Health)
			}
			_, err := d.ApplyUpdate(context.Background(), h.update(membership.Operation{Type: membership.OpRevokeNode, NodeID: "b"}, "alice", "bob"), false)
			if !errors.Is(err, hostapi.ErrUnavailable) {
				t.Errorf("apply with the store broken: %v, want UNAVAILABLE", err)
			}

			if !exit {
				select {
				case err := <-d.Failed():
					t.Errorf("the daemon asks to stop (%v) without ExitOnBrokenPlugin", err)
				default:
				}
				return
			}
			select {
			case err := <-d.Failed():
				if err == nil || !strings.Contains(err.Error(), "store") {
					t.Errorf("Failed delivered %v, want the broken store plugin named", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the daemon did not ask to stop although ExitOnBrokenPlugin is set")
			}
		})
	}
}
