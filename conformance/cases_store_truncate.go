package conformance

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/rustynet/rustynet/hostapi"
)

// Truncate's kill case truncates a log of truncateKillEntries entries to
// truncateKillMinAfter to truncateKillMaxAfter entries. Like the floor of
// the concurrent case, the minimum keeps every read of what remains
// across entries 9 and 10, where a store whose names sort as text (1, 10,
// 11, …, 2) goes wrong.
const (
	truncateKillEntries  = 160
	truncateKillMinAfter = 10
	truncateKillMaxAfter = truncateKillEntries / 4

	truncateConcurrentFloor = 16
)

func storeTruncateCases() []Case {
	truncate := Capability{Store: hostapi.StoreCapTruncate}
	return []Case{
		{
			ID: "store.truncate.middle", Level: Must, Needs: truncate,
			Rule: "Truncate(after) removes the entries above after, keeps those up to it intact, and Append goes on at after+1 with new data",
			Run:  storeTruncateMiddle,
		},
		{
			ID: "store.truncate.to-empty", Level: Must, Needs: truncate,
			Rule: "Truncate(0) leaves an empty log and no snapshot, and Append starts again at 1",
			Run:  storeTruncateToEmpty,
		},
		{
			ID: "store.truncate.beyond-head", Level: Must, Needs: truncate,
			Rule: "Truncate beyond Head() fails with CONFLICT and changes nothing, on an empty log too",
			Run:  storeTruncateBeyondHead,
		},
		{
			ID: "store.truncate.at-head", Level: Must, Needs: truncate,
			Rule: "Truncate(Head()) changes nothing, not even a snapshot beyond the head",
			Run:  storeTruncateAtHead,
		},
		{
			ID: "store.truncate.snapshot", Level: Must, Needs: truncate,
			Rule: "Truncate removes the snapshot if its index is above after (the high bit set included) and keeps one at or below it",
			Run:  storeTruncateSnapshot,
		},
		{
			ID: "store.truncate.closed", Level: Must, Needs: truncate,
			Rule: "Truncate fails with CLOSED before Open and after Close, and changes nothing",
			Run:  storeTruncateClosed,
		},
		{
			ID: "store.truncate.reopen", Level: Must, Needs: truncate,
			Rule: "a new instance opened on the directory of a truncated store reads the truncated log, without the removed snapshot, and appends at after+1",
			Run:  storeTruncateReopen,
		},
		{
			ID: "store.truncate.concurrent", Level: Must, Needs: truncate,
			Rule: "Truncates running beside an appender and readers never leave or show a log with a hole: every read is a contiguous run of whole entries",
			Run:  storeTruncateConcurrent,
		},
		{
			ID: "store.truncate.kill", Level: Must, Needs: Capability{Store: hostapi.StoreCapTruncate, Harness: HarnessKill},
			Rule: "after a SIGKILL during Truncate(after) the log is a contiguous, intact prefix of the old one no shorter than after (exactly after if Truncate returned), and no snapshot lies beyond its head",
			Run:  storeKillDuringTruncate,
		},
	}
}

// replaced is entry data written after a Truncate, unlike any mixed entry.
func replaced(i uint64) []byte { return fmt.Appendf(nil, "replacement %d", i) }

// wantNoSnapshot checks that GetSnapshot answers NOT_FOUND.
func wantNoSnapshot(ctx context.Context, s hostapi.Store, what string) error {
	snap, err := s.GetSnapshot(ctx)
	if err == nil {
		return fmt.Errorf("GetSnapshot %s: got index %d (%d bytes), want NOT_FOUND", what, snap.Index, len(snap.Data))
	}
	return wantCode("GetSnapshot "+what, err, hostapi.CodeNotFound)
}

func storeTruncateMiddle(ctx context.Context, env *Env) error {
	s, _, err := freshStore(ctx, env)
	if err != nil {
		return err
	}
	const n, after = 30, 11
	if err := appendRange(ctx, s, 1, n, mixed); err != nil {
		return err
	}
	if err := s.Truncate(ctx, after); err != nil {
		return fmt.Errorf("Truncate(%d) with head %d: %w", after, n, err)
	}
	_, err = s.ReadLog(ctx, after+2, 1)
	fails := []error{
		wantHead(ctx, s, after),
		checkLog(ctx, s, 1, after, mixed),
		wantCode(fmt.Sprintf("ReadLog(%d, 1) after Truncate(%d)", after+2, after), err, hostapi.CodeNotFound),
		wantCode(fmt.Sprintf("Append at %d after Truncate(%d)", after+2, after), s.Append(ctx, hostapi.LogEntry{Index: after + 2, Data: replaced(after + 2)}), hostapi.CodeConflict),
	}
	if err := appendRange(ctx, s, after+1, n+3, replaced); err != nil {
		return errs(append(fails, fmt.Errorf("after Truncate(%d): %w", after, err))...)
	}
	fails = append(fails, wantHead(ctx, s, n+3), checkLog(ctx, s, 1, after, mixed), checkLog(ctx, s, after+1, n+3, replaced))
	return errs(fails...)
}

func storeTruncateToEmpty(ctx context.Context, env *Env) error {
	s, _, err := freshStore(ctx, env)
	if err != nil {
		return err
	}
	if err := appendRange(ctx, s, 1, 5, mixed); err != nil {
		return err
	}
	if err := s.PutSnapshot(ctx, hostapi.Snapshot{Index: 3, Data: []byte("snapshot at 3")}); err != nil {
		return fmt.Errorf("PutSnapshot: %w", err)
	}
	if err := s.Truncate(ctx, 0); err != nil {
		return fmt.Errorf("Truncate(0) with head 5: %w", err)
	}
	got, err := s.ReadLog(ctx, 1, 5)
	fails := []error{wantHead(ctx, s, 0), wantNoSnapshot(ctx, s, "after Truncate(0)")}
	switch {
	case err != nil:
		fails = append(fails, fmt.Errorf("ReadLog(1, 5) after Truncate(0): got %w, want no entries", err))
	case len(got) != 0:
		fails = append(fails, fmt.Errorf("ReadLog(1, 5) after Truncate(0): got %d entries, want none", len(got)))
	}
	if err := appendRange(ctx, s, 1, 2, replaced); err != nil {
		return errs(append(fails, fmt.Errorf("after Truncate(0): %w", err))...)
	}
	fails = append(fails, wantHead(ctx, s, 2), checkLog(ctx, s, 1, 2, replaced))
	return errs(fails...)
}

func storeTruncateBeyondHead(ctx context.Context, env *Env) error {
	s, _, err := freshStore(ctx, env)
	if err != nil {
		return err
	}
	var fails []error
	fails = append(fails, wantCode("Truncate(1) on an empty log", s.Truncate(ctx, 1), hostapi.CodeConflict), wantHead(ctx, s, 0))
	if err := appendRange(ctx, s, 1, 4, mixed); err != nil {
		return errs(append(fails, err)...)
	}
	snap := hostapi.Snapshot{Index: 4, Data: []byte("snapshot at 4")}
	if err := s.PutSnapshot(ctx, snap); err != nil {
		return errs(append(fails, fmt.Errorf("PutSnapshot: %w", err))...)
	}
	for _, after := range []uint64{5, 1000, 1 << 63, math.MaxUint64} {
		fails = append(fails, wantCode(fmt.Sprintf("Truncate(%d) with head 4", after), s.Truncate(ctx, after), hostapi.CodeConflict))
	}
	fails = append(fails, wantHead(ctx, s, 4), checkLog(ctx, s, 1, 4, mixed), wantSnapshot(ctx, s, snap))
	if err := appendRange(ctx, s, 5, 5, mixed); err != nil {
		fails = append(fails, fmt.Errorf("after the refused Truncates: %w", err))
	}
	return errs(fails...)
}

func storeTruncateAtHead(ctx context.Context, env *Env) error {
	s, _, err := freshStore(ctx, env)
	if err != nil {
		return err
	}
	var fails []error
	if err := s.Truncate(ctx, 0); err != nil {
		fails = append(fails, fmt.Errorf("Truncate(0) on an empty log: got %w, want nil", err))
	}
	if err := appendRange(ctx, s, 1, 6, mixed); err != nil {
		return errs(append(fails, err)...)
	}
	// A snapshot the log has not reached: PutSnapshot takes any index, and
	// a Truncate that removes no entry removes no snapshot either.
	snap := hostapi.Snapshot{Index: 1<<63 + 9, Data: []byte("snapshot beyond the head")}
	if err := s.PutSnapshot(ctx, snap); err != nil {
		return errs(append(fails, fmt.Errorf("PutSnapshot: %w", err))...)
	}
	if err := s.Truncate(ctx, 6); err != nil {
		fails = append(fails, fmt.Errorf("Truncate(6) with head 6: got %w, want nil", err))
	}
	fails = append(fails, wantHead(ctx, s, 6), checkLog(ctx, s, 1, 6, mixed), wantSnapshot(ctx, s, snap))
	if err := appendRange(ctx, s, 7, 7, mixed); err != nil {
		fails = append(fails, fmt.Errorf("after Truncate(6): %w", err))
	}
	return errs(fails...)
}

func storeTruncateSnapshot(ctx context.Context, env *Env) error {
	s, _, err := freshStore(ctx, env)
	if err != nil {
		return err
	}
	steps := []struct {
		name  string
		head  uint64 // the log is brought to this head first
		snap  uint64 // then a snapshot is put at this index
		after uint64
		kept  bool
	}{
		{"below the new head", 10, 4, 7, true},
		{"at the new head", 10, 7, 7, true},
		{"just above the new head", 10, 8, 7, false},
		{"at the old head", 10, 10, 7, false},
		{"with the high bit set", 10, 1<<63 + 5, 3, false},
		{"at index 0, truncating to 0", 5, 0, 0, true},
	}
	head := uint64(0)
	var fails []error
	for _, st := range steps {
		if err := appendRange(ctx, s, head+1, st.head, mixed); err != nil {
			return errs(append(fails, fmt.Errorf("snapshot %s: %w", st.name, err))...)
		}
		snap := hostapi.Snapshot{Index: st.snap, Data: fmt.Appendf(nil, "snapshot %s", st.name)}
		if err := s.PutSnapshot(ctx, snap); err != nil {
			return errs(append(fails, fmt.Errorf("snapshot %s: PutSnapshot: %w", st.name, err))...)
		}
		if err := s.Truncate(ctx, st.after); err != nil {
			return errs(append(fails, fmt.Errorf("snapshot %s: Truncate(%d) with head %d: %w", st.name, st.after, st.head, err))...)
		}
		var check error
		if st.kept {
			check = wantSnapshot(ctx, s, snap)
		} else {
			check = wantNoSnapshot(ctx, s, fmt.Sprintf("after Truncate(%d)", st.after))
		}
		if check != nil {
			fails = append(fails, fmt.Errorf("snapshot %d %s, Truncate(%d): %w", st.snap, st.name, st.after, check))
		}
		if err := wantHead(ctx, s, st.after); err != nil {
			fails = append(fails, fmt.Errorf("snapshot %s: %w", st.name, err))
		}
		head = st.after
	}
	return errs(fails...)
}

func storeTruncateClosed(ctx context.Context, env *Env) error {
	s, err := env.StartStore(ctx)
	if err != nil {
		return err
	}
	fails := []error{wantCode("Truncate(0) before Open", s.Truncate(ctx, 0), hostapi.CodeClosed)}
	dir, err := storeDir(env)
	if err != nil {
		return err
	}
	if err := s.Open(ctx, hostapi.StoreConfig{Dir: dir}); err != nil {
		return fmt.Errorf("Open: %w", err)
	}
	if err := appendRange(ctx, s, 1, 3, mixed); err != nil {
		return err
	}
	if err := s.Close(ctx); err != nil {
		return fmt.Errorf("Close: %w", err)
	}
	fails = append(fails,
		wantCode("Truncate(1) after Close", s.Truncate(ctx, 1), hostapi.CodeClosed),
		wantCode("Truncate(0) after Close", s.Truncate(ctx, 0), hostapi.CodeClosed))
	s.Kill()
	again, err := env.OpenStore(ctx, dir)
	if err != nil {
		return errs(append(fails, fmt.Errorf("reopening: %w", err))...)
	}
	return errs(append(fails, wantHead(ctx, again, 3), checkLog(ctx, again, 1, 3, mixed))...)
}

func storeTruncateReopen(ctx context.Context, env *Env) error {
	s, dir, err := freshStore(ctx, env)
	if err != nil {
		return err
	}
	const n, after = 12, 5
	if err := appendRange(ctx, s, 1, n, mixed); err != nil {
		return err
	}
	if err := s.PutSnapshot(ctx, hostapi.Snapshot{Index: n, Data: sized("truncate-reopen", 10<<10)}); err != nil {
		return fmt.Errorf("PutSnapshot: %w", err)
	}
	if err := s.Truncate(ctx, after); err != nil {
		return fmt.Errorf("Truncate(%d): %w", after, err)
	}
	if err := closeAndKill(ctx, s); err != nil {
		return err
	}
	again, err := env.OpenStore(ctx, dir)
	if err != nil {
		return fmt.Errorf("reopening: %w", err)
	}
	if err := errs(wantHead(ctx, again, after), checkLog(ctx, again, 1, after, mixed), wantNoSnapshot(ctx, again, "after reopening")); err != nil {
		return fmt.Errorf("after reopening: %w", err)
	}
	if err := appendRange(ctx, again, after+1, after+2, replaced); err != nil {
		return fmt.Errorf("after reopening: %w", err)
	}
	return checkLog(ctx, again, after+1, after+2, replaced)
}

// truncateRoundData is entry data that names its index and the round of
// appends that wrote it, so that a reader can check an entry it cannot
// predict.
func truncateRoundData(i uint64, round int) []byte {
	return fmt.Appendf(nil, "entry %d round %d", i, round)
}

// checkPrefix checks that entries, read from index 1, are a contiguous run
// of whole entries as truncateRoundData writes them.
func checkPrefix(entries []hostapi.LogEntry) error {
	for k, e := range entries {
		want := uint64(k) + 1
		if e.Index != want {
			return fmt.Errorf("got entry %d where entry %d belongs (a hole)", e.Index, want)
		}
		if !bytes.HasPrefix(e.Data, fmt.Appendf(nil, "entry %d round ", want)) {
			return fmt.Errorf("entry %d holds %d bytes %s, not an entry written at %d", want, len(e.Data), prefix(e.Data), want)
		}
	}
	return nil
}

func storeTruncateConcurrent(ctx context.Context, env *Env) error {
	s, _, err := freshStore(ctx, env)
	if err != nil {
		return err
	}
	const (
		truncates = 40
		readers   = 2
	)
	done := make(chan struct{})
	var wg sync.WaitGroup
	// The appender extends the log at whatever its head is; an Append that
	// a Truncate overtook fails with CONFLICT and is retried.
	var appendErr error
	appending := make(chan struct{}) // closed when the appender stops
	wg.Go(func() {
		defer close(appending)
		for round := 0; ; round++ {
			select {
			case <-done:
				return
			default:
			}
			head, err := s.Head(ctx)
			if err != nil {
				appendErr = fmt.Errorf("appender: Head: %w", err)
				return
			}
			err = s.Append(ctx, hostapi.LogEntry{Index: head + 1, Data: truncateRoundData(head+1, round)})
			if err != nil && hostapi.CodeOf(err) != hostapi.CodeConflict {
				appendErr = fmt.Errorf("appender: Append(%d): %w", head+1, err)
				return
			}
		}
	})
	readErrs := make([]error, readers)
	for r := range readers {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				got, err := s.ReadLog(ctx, 1, math.MaxInt32)
				if err == nil {
					err = checkPrefix(got)
				}
				if err != nil {
					readErrs[r] = fmt.Errorf("reader %d: %w", r, err)
					return
				}
			}
		})
	}
	// Only this goroutine truncates and the appender only extends the log,
	// so after < head holds when Truncate runs: each must succeed. The log
	// keeps at least truncateConcurrentFloor entries.
	var truncErr error
	for k := 0; k < truncates && truncErr == nil; {
		head, err := s.Head(ctx)
		if err != nil {
			truncErr = fmt.Errorf("truncater: Head: %w", err)
			break
		}
		if head <= truncateConcurrentFloor {
			select {
			case <-appending:
				truncErr = fmt.Errorf("truncater: the appender stopped at head %d", head)
			default:
			}
			continue
		}
		after := truncateConcurrentFloor + rand.N(head-truncateConcurrentFloor)
		if err := s.Truncate(ctx, after); err != nil {
			truncErr = fmt.Errorf("truncater: Truncate(%d) with head at least %d: %w", after, head, err)
		}
		k++
	}
	close(done)
	wg.Wait()
	if err := errs(truncErr, appendErr, errs(readErrs...)); err != nil {
		return err
	}
	head, err := s.Head(ctx)
	if err != nil {
		return fmt.Errorf("Head: %w", err)
	}
	got, err := s.ReadLog(ctx, 1, math.MaxInt32)
	if err != nil {
		return fmt.Errorf("ReadLog(1, …) at the end: %w", err)
	}
	if uint64(len(got)) != head {
		return fmt.Errorf("ReadLog(1, …) at the end: got %d entries, want %d (Head)", len(got), head)
	}
	if err := checkPrefix(got); err != nil {
		return fmt.Errorf("at the end: %w", err)
	}
	return appendRange(ctx, s, head+1, head+1, func(i uint64) []byte { return truncateRoundData(i, -1) })
}

// truncateKillData is the entry data of the kill case: small, so that
// rebuilding the log between kills stays quick.
func truncateKillData(i uint64) []byte { return fmt.Appendf(nil, "truncate-kill %d", i) }

// storeKillDuringTruncate truncates a log of truncateKillEntries entries
// and a snapshot at its head, and SIGKILLs the plugin a random delay into
// the Truncate, up to 1.5 times as long as an uninterrupted one took (the
// first iteration, which it does not kill, measures that).
func storeKillDuringTruncate(ctx context.Context, env *Env) error {
	dir, err := storeDir(env)
	if err != nil {
		return err
	}
	const n = truncateKillEntries
	snap := hostapi.Snapshot{Index: n, Data: sized("truncate-kill", 64<<10)}
	var head uint64 // the log's head after the previous iteration
	var full time.Duration
	midway, n0 := 0, env.crashIterations()
	for iter := 0; iter <= n0; iter++ {
		s, err := env.OpenStore(ctx, dir)
		if err != nil {
			return fmt.Errorf("iteration %d: %w", iter, err)
		}
		if err := appendRange(ctx, s, head+1, n, truncateKillData); err != nil {
			return fmt.Errorf("iteration %d: rebuilding the log: %w", iter, err)
		}
		if err := s.PutSnapshot(ctx, snap); err != nil {
			return fmt.Errorf("iteration %d: PutSnapshot: %w", iter, err)
		}
		after := truncateKillMinAfter + rand.N(uint64(truncateKillMaxAfter-truncateKillMinAfter+1))
		result := make(chan error, 1)
		start := time.Now()
		go func() { result <- s.Truncate(ctx, after) }()
		returned := false
		if iter == 0 {
			if err := <-result; err != nil {
				return fmt.Errorf("iteration 0 (not killed): Truncate(%d) with head %d: %w", after, n, err)
			}
			full = time.Since(start)
			returned = true
		} else {
			select {
			case <-time.After(rand.N(full*3/2 + time.Millisecond)):
			case err := <-result:
				if err != nil {
					return fmt.Errorf("iteration %d: Truncate(%d) with head %d: %w", iter, after, n, err)
				}
				returned = true
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err := s.Crash(ctx); err != nil {
			return err
		}
		if !returned {
			if err := <-result; err == nil {
				returned = true // it returned nil just before the kill
			}
		}
		again, err := env.OpenStore(ctx, dir)
		if err != nil {
			return fmt.Errorf("iteration %d: reopening after SIGKILL: %w", iter, err)
		}
		got, err := again.Head(ctx)
		if err != nil {
			return fmt.Errorf("iteration %d: Head after SIGKILL: %w", iter, err)
		}
		switch {
		case returned && got != after:
			return fmt.Errorf("iteration %d: Head after SIGKILL: got %d, want %d (Truncate(%d) returned nil)", iter, got, after, after)
		case got < after || got > n:
			return fmt.Errorf("iteration %d: Head after SIGKILL during Truncate(%d): got %d, want %d to %d", iter, after, got, after, n)
		case got > after && got < n:
			midway++
		}
		if err := checkLog(ctx, again, 1, got, truncateKillData); err != nil {
			return fmt.Errorf("iteration %d: after SIGKILL during Truncate(%d), head %d: %w", iter, after, got, err)
		}
		kept, err := again.GetSnapshot(ctx)
		switch {
		case hostapi.CodeOf(err) == hostapi.CodeNotFound:
		case err != nil:
			return fmt.Errorf("iteration %d: GetSnapshot after SIGKILL: %w", iter, err)
		case kept.Index > got:
			return fmt.Errorf("iteration %d: after SIGKILL during Truncate(%d): the snapshot at %d lies beyond the head %d", iter, after, kept.Index, got)
		default:
			if err := wantSnapshot(ctx, again, snap); err != nil {
				return fmt.Errorf("iteration %d: after SIGKILL: %w", iter, err)
			}
		}
		if err := closeAndKill(ctx, again); err != nil {
			return fmt.Errorf("iteration %d: %w", iter, err)
		}
		head = got
	}
	env.Logf("%d kills; an uninterrupted Truncate of %d entries or so took %v; %d kills left the log between the new head and the old", n0, n-(truncateKillMinAfter+truncateKillMaxAfter)/2, full.Round(time.Microsecond), midway)
	return nil
}
