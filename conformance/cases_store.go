package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/rustynet/rustynet/hostapi"
)

// StoreCases returns the store suite: the process cases, then the store
// cases, in the order the engine runs them. Each call returns a fresh
// slice.
func StoreCases() []Case {
	return slices.Concat(processCases(KindStore), storeBasicCases(), storeConcurrencyCases(), storeTruncateCases(), storeCrashCases(), storeFileCases(), storeCorruptCases())
}

func storeBasicCases() []Case {
	return []Case{
		{
			ID: "store.info", Level: Must,
			Rule: "Info answers before Open with a non-empty name",
			Run:  storeInfo,
		},
		{
			ID: "store.info.stable", Level: Should,
			Rule: "Info while open answers what it answered before Open",
			Run:  storeInfoStable,
		},
		{
			ID: "store.info.known-capabilities", Level: Should,
			Rule: "Info advertises only capability flags the contract defines",
			Run: func(ctx context.Context, env *Env) error {
				var all hostapi.StoreCapabilities
				for _, f := range storeCapList {
					all |= f.c
				}
				if unknown := env.StoreInfo.Capabilities &^ all; unknown != 0 {
					return fmt.Errorf("capabilities %#x include bits the contract does not define: %#x", uint64(env.StoreInfo.Capabilities), uint64(unknown))
				}
				return nil
			},
		},
		{
			ID: "store.lifecycle.closed-before-open", Level: Must,
			Rule: "every method but Info, Open and Close fails with CLOSED before Open",
			Run:  storeClosedBeforeOpen,
		},
		{
			ID: "store.lifecycle.closed-after-close", Level: Must,
			Rule: "after Close every method but Info (Open included) fails with CLOSED and changes nothing, and Close is idempotent",
			Run:  storeClosedAfterClose,
		},
		{
			ID: "store.lifecycle.open-twice", Level: Must,
			Rule: "a second Open of an open store fails with CONFLICT and changes nothing",
			Run:  storeOpenTwice,
		},
		{
			ID: "store.log.round-trip", Level: Must,
			Rule: "entries read back exactly as appended, Head is the last index",
			Run:  storeRoundTrip,
		},
		{
			ID: "store.log.order", Level: Must,
			Rule: "ReadLog returns consecutive entries in index order from any start, fewer than limit only at the end",
			Run:  storeOrder,
		},
		{
			ID: "store.append.conflict", Level: Must,
			Rule: "an append at any index but Head()+1, on an empty log too, fails with CONFLICT and the stored entry stays intact (append-only)",
			Run:  storeAppendConflict,
		},
		{
			ID: "store.append.invalid", Level: Must,
			Rule: "an append of empty data fails with INVALID_ARGUMENT and changes nothing",
			Run:  storeAppendInvalid,
		},
		{
			ID: "store.read.missing", Level: Must,
			Rule: "GetSnapshot with none put gives NOT_FOUND; ReadLog from Head()+1 gives no entries, from beyond NOT_FOUND; limit ≤ 0 INVALID_ARGUMENT",
			Run:  storeReadMissing,
		},
		{
			ID: "store.read.from-zero", Level: Should,
			Rule: "ReadLog from index 0 fails with INVALID_ARGUMENT (the log starts at 1)",
			Run: func(ctx context.Context, env *Env) error {
				s, _, err := freshStore(ctx, env)
				if err != nil {
					return err
				}
				_, err = s.ReadLog(ctx, 0, 1)
				return wantCode("ReadLog(0, 1)", err, hostapi.CodeInvalidArgument)
			},
		},
		{
			ID: "store.snapshot.round-trip", Level: Must,
			Rule: "GetSnapshot returns the last snapshot put, whatever its index; an empty one fails with INVALID_ARGUMENT and changes nothing",
			Run:  storeSnapshotRoundTrip,
		},
		{
			ID: "store.large.entries", Level: Must,
			Rule: "entries and snapshots of several MiB round-trip exactly",
			Run:  storeLargeEntries,
		},
		{
			ID: "store.large.limits", Level: Must,
			Rule: "an entry of MaxEntryBytes and a snapshot of MaxSnapshotBytes are accepted and read back",
			Run:  storeLimits,
		},
		{
			ID: "store.large.over-limits", Level: Must,
			Rule: "an entry over MaxEntryBytes or a snapshot over MaxSnapshotBytes fails with INVALID_ARGUMENT and changes nothing",
			Run:  storeOverLimits,
		},
		{
			ID: "store.reopen", Level: Must,
			Rule: "a new instance opened on the directory of a closed one reads everything back",
			Run:  storeReopen,
		},
	}
}

func storeInfo(ctx context.Context, env *Env) error {
	s, err := env.StartStore(ctx)
	if err != nil {
		return err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return fmt.Errorf("Info before Open: %w", err)
	}
	if info.Name == "" {
		return errors.New("Info: got an empty name")
	}
	return nil
}

// storeInfoStable compares the Info of an open instance with the Info the
// run began with, which an instance answered before Open.
func storeInfoStable(ctx context.Context, env *Env) error {
	s, _, err := freshStore(ctx, env)
	if err != nil {
		return err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return fmt.Errorf("Info while open: %w", err)
	}
	if info != env.StoreInfo {
		return fmt.Errorf("Info while open: got %+v, want %+v as before Open", info, env.StoreInfo)
	}
	return nil
}

// storeOps are calls that need an open store, for lifecycle checks.
var storeOps = []struct {
	name string
	call func(context.Context, hostapi.Store) error
}{
	{"Append", func(ctx context.Context, s hostapi.Store) error {
		return s.Append(ctx, hostapi.LogEntry{Index: 1, Data: small(1)})
	}},
	{"Head", func(ctx context.Context, s hostapi.Store) error { _, err := s.Head(ctx); return err }},
	{"ReadLog", func(ctx context.Context, s hostapi.Store) error { _, err := s.ReadLog(ctx, 1, 1); return err }},
	{"PutSnapshot", func(ctx context.Context, s hostapi.Store) error {
		return s.PutSnapshot(ctx, hostapi.Snapshot{Index: 1, Data: []byte("snapshot")})
	}},
	{"GetSnapshot", func(ctx context.Context, s hostapi.Store) error { _, err := s.GetSnapshot(ctx); return err }},
}

func storeClosedBeforeOpen(ctx context.Context, env *Env) error {
	s, err := env.StartStore(ctx)
	if err != nil {
		return err
	}
	var fails []error
	for _, op := range storeOps {
		fails = append(fails, wantCode(op.name+" before Open", op.call(ctx, s), hostapi.CodeClosed))
	}
	return errs(fails...)
}

func storeClosedAfterClose(ctx context.Context, env *Env) error {
	s, dir, err := freshStore(ctx, env)
	if err != nil {
		return err
	}
	if err := appendRange(ctx, s, 1, 1, small); err != nil {
		return err
	}
	if err := s.Close(ctx); err != nil {
		return fmt.Errorf("Close: %w", err)
	}
	var fails []error
	for _, op := range storeOps {
		fails = append(fails, wantCode(op.name+" after Close", op.call(ctx, s), hostapi.CodeClosed))
	}
	if err := s.Close(ctx); err != nil {
		fails = append(fails, fmt.Errorf("second Close: got %w, want nil (Close is idempotent)", err))
	}
	fails = append(fails, wantCode("Open after Close", s.Open(ctx, hostapi.StoreConfig{Dir: dir}), hostapi.CodeClosed))
	if err := errs(fails...); err != nil {
		return err
	}
	// The refused calls changed nothing: another instance finds the entry
	// and no snapshot.
	s.Kill()
	again, err := env.OpenStore(ctx, dir)
	if err != nil {
		return fmt.Errorf("reopening: %w", err)
	}
	_, err = again.GetSnapshot(ctx)
	return errs(wantHead(ctx, again, 1), checkLog(ctx, again, 1, 1, small),
		wantCode("GetSnapshot after the refused PutSnapshot", err, hostapi.CodeNotFound))
}

func storeOpenTwice(ctx context.Context, env *Env) error {
	s, dir, err := freshStore(ctx, env)
	if err != nil {
		return err
	}
	if err := appendRange(ctx, s, 1, 2, small); err != nil {
		return err
	}
	other, err := storeDir(env)
	if err != nil {
		return err
	}
	return errs(
		wantCode("second Open on the same directory", s.Open(ctx, hostapi.StoreConfig{Dir: dir}), hostapi.CodeConflict),
		wantCode("second Open on another directory", s.Open(ctx, hostapi.StoreConfig{Dir: other}), hostapi.CodeConflict),
		wantHead(ctx, s, 2),
		checkLog(ctx, s, 1, 2, small),
	)
}

// mixed is entry data of assorted sizes and contents, zero bytes included.
func mixed(i uint64) []byte {
	switch i % 4 {
	case 0:
		return []byte{0}
	case 1:
		return small(i)
	case 2:
		return make([]byte, 1+int(i)*37) // all zeroes
	default:
		return entryData("mixed", i)
	}
}

func storeRoundTrip(ctx context.Context, env *Env) error {
	s, _, err := freshStore(ctx, env)
	if err != nil {
		return err
	}
	if err := wantHead(ctx, s, 0); err != nil {
		return fmt.Errorf("empty store: %w", err)
	}
	const n = 50
	if err := appendRange(ctx, s, 1, n, mixed); err != nil {
		return err
	}
	return errs(wantHead(ctx, s, n), checkLog(ctx, s, 1, n, mixed))
}

func storeOrder(ctx context.Context, env *Env) error {
	s, _, err := freshStore(ctx, env)
	if err != nil {
		return err
	}
	const n = 40
	if err := appendRange(ctx, s, 1, n, small); err != nil {
		return err
	}
	windows := []struct {
		from  uint64
		limit int
		want  []uint64 // first and last index expected
	}{
		{1, 1, []uint64{1, 1}},
		{1, 10, []uint64{1, 10}},
		{17, 5, []uint64{17, 21}},
		{2, n, []uint64{2, n}},
		{35, 100, []uint64{35, n}},
		{n, 3, []uint64{n, n}},
		{1, n + 10, []uint64{1, n}},
		{1, math.MaxInt, []uint64{1, n}},
	}
	var fails []error
	for _, w := range windows {
		got, err := s.ReadLog(ctx, w.from, w.limit)
		if err != nil {
			fails = append(fails, fmt.Errorf("ReadLog(%d, %d): %w", w.from, w.limit, err))
			continue
		}
		var idx []uint64
		for _, e := range got {
			idx = append(idx, e.Index)
			if !bytes.Equal(e.Data, small(e.Index)) {
				fails = append(fails, fmt.Errorf("ReadLog(%d, %d): entry %d holds %q, want %q", w.from, w.limit, e.Index, e.Data, small(e.Index)))
			}
		}
		var want []uint64
		for i := w.want[0]; i <= w.want[1]; i++ {
			want = append(want, i)
		}
		if !slices.Equal(idx, want) {
			fails = append(fails, fmt.Errorf("ReadLog(%d, %d): got indices %v, want %v", w.from, w.limit, idx, want))
		}
	}
	return errs(fails...)
}

func storeAppendConflict(ctx context.Context, env *Env) error {
	s, _, err := freshStore(ctx, env)
	if err != nil {
		return err
	}
	over := []byte("overwrite attempt")
	var fails []error
	for _, idx := range []uint64{0, 2} {
		err := s.Append(ctx, hostapi.LogEntry{Index: idx, Data: over})
		fails = append(fails, wantCode(fmt.Sprintf("Append at %d on an empty log", idx), err, hostapi.CodeConflict))
	}
	fails = append(fails, wantHead(ctx, s, 0))
	if err := appendRange(ctx, s, 1, 3, small); err != nil {
		return errs(append(fails, err)...)
	}
	for _, idx := range []uint64{1, 3, 5, 0, 1 << 63} {
		err := s.Append(ctx, hostapi.LogEntry{Index: idx, Data: over})
		fails = append(fails, wantCode(fmt.Sprintf("Append at %d with head 3", idx), err, hostapi.CodeConflict))
	}
	fails = append(fails, wantHead(ctx, s, 3), checkLog(ctx, s, 1, 3, small))
	// The log goes on where it was.
	if err := appendRange(ctx, s, 4, 4, small); err != nil {
		fails = append(fails, fmt.Errorf("after the rejected appends: %w", err))
	}
	return errs(fails...)
}

func storeAppendInvalid(ctx context.Context, env *Env) error {
	s, _, err := freshStore(ctx, env)
	if err != nil {
		return err
	}
	if err := appendRange(ctx, s, 1, 1, small); err != nil {
		return err
	}
	return errs(
		wantCode("Append of empty data", s.Append(ctx, hostapi.LogEntry{Index: 2, Data: nil}), hostapi.CodeInvalidArgument),
		wantHead(ctx, s, 1),
		checkLog(ctx, s, 1, 1, small),
	)
}

func storeReadMissing(ctx context.Context, env *Env) error {
	s, _, err := freshStore(ctx, env)
	if err != nil {
		return err
	}
	var fails []error
	_, err = s.GetSnapshot(ctx)
	fails = append(fails, wantCode("GetSnapshot on an empty store", err, hostapi.CodeNotFound))
	fails = append(fails, wantHead(ctx, s, 0))
	wantEmpty := func(from uint64, what string) {
		got, err := s.ReadLog(ctx, from, 5)
		switch {
		case err != nil:
			fails = append(fails, fmt.Errorf("ReadLog(%d, 5) %s: got %w, want no entries", from, what, err))
		case len(got) != 0:
			fails = append(fails, fmt.Errorf("ReadLog(%d, 5) %s: got %d entries, want none", from, what, len(got)))
		}
	}
	wantMissing := func(from uint64, what string) {
		_, err := s.ReadLog(ctx, from, 5)
		fails = append(fails, wantCode(fmt.Sprintf("ReadLog(%d, 5) %s", from, what), err, hostapi.CodeNotFound))
	}
	wantEmpty(1, "on an empty log")
	wantMissing(2, "on an empty log")
	if err := appendRange(ctx, s, 1, 3, small); err != nil {
		return errs(append(fails, err)...)
	}
	wantEmpty(4, "with head 3")
	wantMissing(5, "with head 3")
	wantMissing(1000, "with head 3")
	wantMissing(math.MaxUint64, "with head 3")
	for _, limit := range []int{0, -1} {
		_, err := s.ReadLog(ctx, 1, limit)
		fails = append(fails, wantCode(fmt.Sprintf("ReadLog(1, %d)", limit), err, hostapi.CodeInvalidArgument))
	}
	_, err = s.GetSnapshot(ctx)
	fails = append(fails, wantCode("GetSnapshot with entries but no snapshot", err, hostapi.CodeNotFound))
	return errs(fails...)
}

func storeSnapshotRoundTrip(ctx context.Context, env *Env) error {
	s, _, err := freshStore(ctx, env)
	if err != nil {
		return err
	}
	first := hostapi.Snapshot{Index: 3, Data: []byte("first snapshot")}
	second := hostapi.Snapshot{Index: 7, Data: sized("second", 70<<10)}
	older := hostapi.Snapshot{Index: 2, Data: []byte{0, 1, 0}}
	zero := hostapi.Snapshot{Index: 0, Data: []byte("index zero")}
	high := hostapi.Snapshot{Index: 1<<63 + 5, Data: []byte("the index's high bit set")}
	last := hostapi.Snapshot{Index: 8, Data: []byte("s")}
	var fails []error
	for _, snap := range []hostapi.Snapshot{first, second, older, zero, high, last} {
		if err := s.PutSnapshot(ctx, snap); err != nil {
			return fmt.Errorf("PutSnapshot(index %d): %w", snap.Index, err)
		}
		fails = append(fails, wantSnapshot(ctx, s, snap))
	}
	err = s.PutSnapshot(ctx, hostapi.Snapshot{Index: 9})
	fails = append(fails, wantCode("PutSnapshot of empty data", err, hostapi.CodeInvalidArgument))
	fails = append(fails, wantSnapshot(ctx, s, last))
	return errs(fails...)
}

func storeLargeEntries(ctx context.Context, env *Env) error {
	s, _, err := freshStore(ctx, env)
	if err != nil {
		return err
	}
	sizes := map[uint64]int{1: 3 << 20, 2: 17, 3: 9<<20 + 3, 4: 1 << 20}
	gen := func(i uint64) []byte { return sized(fmt.Sprint("large", i), sizes[i]) }
	if err := appendRange(ctx, s, 1, 4, gen); err != nil {
		return err
	}
	snap := hostapi.Snapshot{Index: 4, Data: sized("large-snapshot", 12<<20+1)}
	if err := s.PutSnapshot(ctx, snap); err != nil {
		return fmt.Errorf("PutSnapshot of %d bytes: %w", len(snap.Data), err)
	}
	return errs(checkLog(ctx, s, 1, 4, gen), wantSnapshot(ctx, s, snap))
}

func storeLimits(ctx context.Context, env *Env) error {
	s, _, err := freshStore(ctx, env)
	if err != nil {
		return err
	}
	entry := func(uint64) []byte { return sized("max-entry", hostapi.MaxEntryBytes) }
	if err := appendRange(ctx, s, 1, 1, entry); err != nil {
		return err
	}
	if err := checkLog(ctx, s, 1, 1, entry); err != nil {
		return err
	}
	snap := hostapi.Snapshot{Index: 1, Data: sized("max-snapshot", hostapi.MaxSnapshotBytes)}
	if err := s.PutSnapshot(ctx, snap); err != nil {
		return fmt.Errorf("PutSnapshot of MaxSnapshotBytes: %w", err)
	}
	return wantSnapshot(ctx, s, snap)
}

func storeOverLimits(ctx context.Context, env *Env) error {
	s, _, err := freshStore(ctx, env)
	if err != nil {
		return err
	}
	if err := appendRange(ctx, s, 1, 1, small); err != nil {
		return err
	}
	snap := hostapi.Snapshot{Index: 1, Data: []byte("snapshot")}
	if err := s.PutSnapshot(ctx, snap); err != nil {
		return fmt.Errorf("PutSnapshot: %w", err)
	}
	return errs(
		wantCode("Append of MaxEntryBytes+1", s.Append(ctx, hostapi.LogEntry{Index: 2, Data: make([]byte, hostapi.MaxEntryBytes+1)}), hostapi.CodeInvalidArgument),
		wantCode("PutSnapshot of MaxSnapshotBytes+1", s.PutSnapshot(ctx, hostapi.Snapshot{Index: 2, Data: make([]byte, hostapi.MaxSnapshotBytes+1)}), hostapi.CodeInvalidArgument),
		wantHead(ctx, s, 1),
		checkLog(ctx, s, 1, 1, small),
		wantSnapshot(ctx, s, snap),
	)
}

func storeReopen(ctx context.Context, env *Env) error {
	s, dir, err := freshStore(ctx, env)
	if err != nil {
		return err
	}
	const n = 12
	if err := appendRange(ctx, s, 1, n, mixed); err != nil {
		return err
	}
	snap := hostapi.Snapshot{Index: n, Data: sized("reopen", 10<<10)}
	if err := s.PutSnapshot(ctx, snap); err != nil {
		return fmt.Errorf("PutSnapshot: %w", err)
	}
	if err := closeAndKill(ctx, s); err != nil {
		return err
	}
	again, err := env.OpenStore(ctx, dir)
	if err != nil {
		return fmt.Errorf("reopening: %w", err)
	}
	if err := errs(wantHead(ctx, again, n), checkLog(ctx, again, 1, n, mixed), wantSnapshot(ctx, again, snap)); err != nil {
		return fmt.Errorf("after reopening: %w", err)
	}
	return appendRange(ctx, again, n+1, n+1, mixed)
}

func storeConcurrencyCases() []Case {
	return []Case{
		{
			ID: "store.concurrent.append", Level: Must,
			Rule: "of concurrent Appends at the same index exactly one succeeds and the others fail with CONFLICT",
			Run:  storeConcurrentAppend,
		},
		{
			ID: "store.concurrent.read-while-append", Level: Must,
			Rule: "readers running beside an appender always see a contiguous, intact prefix of the log",
			Run:  storeReadWhileAppend,
		},
	}
}

func storeConcurrentAppend(ctx context.Context, env *Env) error {
	s, _, err := freshStore(ctx, env)
	if err != nil {
		return err
	}
	const (
		rounds  = 20
		writers = 8
	)
	data := func(i uint64, w int) []byte { return fmt.Appendf(nil, "entry %d from writer %d", i, w) }
	winners := make([]int, rounds+1)
	for i := uint64(1); i <= rounds; i++ {
		start := make(chan struct{})
		results := make([]error, writers)
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				<-start
				results[w] = s.Append(ctx, hostapi.LogEntry{Index: i, Data: data(i, w)})
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		var fails []error
		for w, err := range results {
			switch {
			case err == nil && winner >= 0:
				fails = append(fails, fmt.Errorf("index %d: writers %d and %d both succeeded", i, winner, w))
			case err == nil:
				winner = w
			default:
				if e := wantCode(fmt.Sprintf("index %d: losing writer %d", i, w), err, hostapi.CodeConflict); e != nil {
					fails = append(fails, e)
				}
			}
		}
		if winner < 0 {
			fails = append(fails, fmt.Errorf("index %d: no writer succeeded", i))
		}
		if err := errs(fails...); err != nil {
			return err
		}
		winners[i] = winner
	}
	return errs(wantHead(ctx, s, rounds), checkLog(ctx, s, 1, rounds, func(i uint64) []byte { return data(i, winners[i]) }))
}

func storeReadWhileAppend(ctx context.Context, env *Env) error {
	s, _, err := freshStore(ctx, env)
	if err != nil {
		return err
	}
	const n = 150
	gen := func(i uint64) []byte { return entryData("concurrent", i) }
	done := make(chan struct{})
	var wg sync.WaitGroup
	readErrs := make([]error, 3)
	for r := range readErrs {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				head, err := s.Head(ctx)
				if err != nil {
					readErrs[r] = fmt.Errorf("reader %d: Head: %w", r, err)
					return
				}
				if head == 0 {
					continue
				}
				from := 1 + uint64(r)*head/4
				if err := checkLog(ctx, s, from, head, gen); err != nil {
					readErrs[r] = fmt.Errorf("reader %d at head %d: %w", r, head, err)
					return
				}
			}
		})
	}
	appendErr := appendRange(ctx, s, 1, n, gen)
	close(done)
	wg.Wait()
	return errs(appendErr, errs(readErrs...), wantHead(ctx, s, n))
}
