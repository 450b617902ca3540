package conformance

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rustynet/rustynet/hostapi"
)

// Random delays before a writer is killed: after its first acknowledged
// write, long enough to land inside later writes and short enough to keep
// cases quick; or, in one kill of earlyKillOdds, from its start, so that
// the kill may land while the plugin starts or opens the store (and
// recovers from the kill before).
const (
	maxAppendKillDelay   = 40 * time.Millisecond
	maxSnapshotKillDelay = 150 * time.Millisecond
	maxEarlyKillDelay    = 300 * time.Millisecond
	earlyKillOdds        = 5
)

func storeCrashCases() []Case {
	kill := Capability{Harness: HarnessKill}
	return []Case{
		{
			ID: "store.durable.kill", Level: Must, Needs: kill,
			Rule: "acknowledged appends and snapshots survive a SIGKILL of the plugin, and the lock dies with it",
			Run:  storeDurableKill,
		},
		{
			ID: "store.durable.kill-during-appends", Level: Must, Needs: kill,
			Rule: "after a SIGKILL during appends the log holds every acknowledged entry, at most the one in flight besides, whole and contiguous",
			Run:  storeKillDuringAppends,
		},
		{
			ID: "store.snapshot.atomic-kill", Level: Must, Needs: kill,
			Rule: "after a SIGKILL during PutSnapshot the snapshot is exactly the last acknowledged one or the one in flight, never torn",
			Run:  storeKillDuringSnapshots,
		},
	}
}

func storeDurableKill(ctx context.Context, env *Env) error {
	s, dir, err := freshStore(ctx, env)
	if err != nil {
		return err
	}
	const n = 20
	if err := appendRange(ctx, s, 1, n, mixed); err != nil {
		return err
	}
	snap := hostapi.Snapshot{Index: n, Data: sized("durable", 300<<10)}
	if err := s.PutSnapshot(ctx, snap); err != nil {
		return fmt.Errorf("PutSnapshot: %w", err)
	}
	if err := s.Crash(ctx); err != nil {
		return err
	}
	again, err := env.OpenStore(ctx, dir)
	if err != nil {
		return fmt.Errorf("reopening after SIGKILL (the lock must die with the process): %w", err)
	}
	return errs(wantHead(ctx, again, n), checkLog(ctx, again, 1, n, mixed), wantSnapshot(ctx, again, snap))
}

// killWriter runs write(i) for i = from, from+1, … on a fresh instance
// that it opens on dir, and SIGKILLs the instance at a random moment:
// usually a random delay after the first acknowledgement, sometimes (see
// earlyKillOdds) a random delay after the instance started, which may be
// before Open returned. It returns the last i whose write returned nil
// (from-1 if none did).
func killWriter(ctx context.Context, env *Env, dir string, from uint64, maxDelay time.Duration, write func(s hostapi.Store, i uint64) error) (uint64, error) {
	s, err := env.StartStore(ctx)
	if err != nil {
		return 0, err
	}
	var acked atomic.Uint64
	acked.Store(from - 1)
	first := make(chan struct{})
	var once sync.Once
	stopped := make(chan error, 1)
	go func() {
		if err := s.Open(ctx, hostapi.StoreConfig{Dir: dir}); err != nil {
			stopped <- fmt.Errorf("Open: %w", err)
			return
		}
		for i := from; ; i++ {
			if err := write(s, i); err != nil {
				stopped <- err
				return
			}
			acked.Store(i)
			once.Do(func() { close(first) })
		}
	}()
	var kill <-chan time.Time // nil until armed: a nil channel never fires
	if rand.IntN(earlyKillOdds) == 0 {
		kill = time.After(rand.N(maxEarlyKillDelay))
	}
	for armed := first; ; {
		select {
		case <-armed:
			armed = nil
			if kill == nil {
				kill = time.After(rand.N(maxDelay))
			}
			continue
		case <-kill:
		case err := <-stopped:
			return 0, fmt.Errorf("writing before the kill: %w", err)
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		break
	}
	if err := s.Crash(ctx); err != nil {
		return 0, err
	}
	<-stopped // the call in flight fails once the plugin is gone
	return acked.Load(), nil
}

func storeKillDuringAppends(ctx context.Context, env *Env) error {
	dir, err := storeDir(env)
	if err != nil {
		return err
	}
	gen := func(i uint64) []byte { return entryData("crash", i) }
	write := func(s hostapi.Store, i uint64) error {
		return s.Append(ctx, hostapi.LogEntry{Index: i, Data: gen(i)})
	}
	// Kills must not harm what was there before either.
	const existing = 12
	s, err := env.OpenStore(ctx, dir)
	if err != nil {
		return err
	}
	if err := appendRange(ctx, s, 1, existing, gen); err != nil {
		return err
	}
	if err := closeAndKill(ctx, s); err != nil {
		return err
	}
	head := uint64(existing)
	inFlight := 0
	n := env.crashIterations()
	for iter := range n {
		acked, err := killWriter(ctx, env, dir, head+1, maxAppendKillDelay, write)
		if err != nil {
			return fmt.Errorf("iteration %d: %w", iter, err)
		}
		s, err := env.OpenStore(ctx, dir)
		if err != nil {
			return fmt.Errorf("iteration %d: reopening after SIGKILL: %w", iter, err)
		}
		got, err := s.Head(ctx)
		if err != nil {
			return fmt.Errorf("iteration %d: Head after SIGKILL: %w", iter, err)
		}
		if got < acked || got > acked+1 {
			return fmt.Errorf("iteration %d: Head after SIGKILL: got %d, want %d (acknowledged) or %d (the append in flight)", iter, got, acked, acked+1)
		}
		if got == acked+1 {
			inFlight++
		}
		// The entries up to head were read back whole after an earlier
		// kill; the log is read whole once more at the end.
		if err := checkLog(ctx, s, head, got, gen); err != nil {
			return fmt.Errorf("iteration %d: after SIGKILL: %w", iter, err)
		}
		if err := closeAndKill(ctx, s); err != nil {
			return fmt.Errorf("iteration %d: %w", iter, err)
		}
		head = got
	}
	env.Logf("%d kills, %d entries; the unacknowledged append was visible after %d kills", n, head, inFlight)
	s, err = env.OpenStore(ctx, dir)
	if err != nil {
		return fmt.Errorf("reopening after the last kill: %w", err)
	}
	if err := checkLog(ctx, s, 1, head, gen); err != nil {
		return fmt.Errorf("after %d kills: %w", n, err)
	}
	return nil
}

func storeKillDuringSnapshots(ctx context.Context, env *Env) error {
	dir, err := storeDir(env)
	if err != nil {
		return err
	}
	write := func(s hostapi.Store, k uint64) error {
		return s.PutSnapshot(ctx, hostapi.Snapshot{Index: k, Data: snapshotData("crash", k)})
	}
	var last uint64 // index of the snapshot found after the previous kill
	inFlight := 0
	n := env.crashIterations()
	for iter := range n {
		acked, err := killWriter(ctx, env, dir, last+1, maxSnapshotKillDelay, write)
		if err != nil {
			return fmt.Errorf("iteration %d: %w", iter, err)
		}
		s, err := env.OpenStore(ctx, dir)
		if err != nil {
			return fmt.Errorf("iteration %d: reopening after SIGKILL: %w", iter, err)
		}
		snap, err := s.GetSnapshot(ctx)
		switch {
		case hostapi.CodeOf(err) == hostapi.CodeNotFound && acked == 0:
			// Killed before the first snapshot was acknowledged, and
			// before it became visible.
		case err != nil:
			return fmt.Errorf("iteration %d: GetSnapshot after SIGKILL: got %w, want snapshot %d or %d", iter, err, acked, acked+1)
		case snap.Index != acked && snap.Index != acked+1:
			return fmt.Errorf("iteration %d: GetSnapshot after SIGKILL: got index %d (%d bytes), want %d (acknowledged) or %d (in flight)", iter, snap.Index, len(snap.Data), acked, acked+1)
		default:
			if err := wantSnapshot(ctx, s, hostapi.Snapshot{Index: snap.Index, Data: snapshotData("crash", snap.Index)}); err != nil {
				return fmt.Errorf("iteration %d: the snapshot after SIGKILL is torn: %w", iter, err)
			}
			if snap.Index == acked+1 {
				inFlight++
			}
			last = snap.Index
		}
		if err := closeAndKill(ctx, s); err != nil {
			return fmt.Errorf("iteration %d: %w", iter, err)
		}
	}
	env.Logf("%d kills, last snapshot %d; the unacknowledged snapshot was visible after %d kills", n, last, inFlight)
	return nil
}
