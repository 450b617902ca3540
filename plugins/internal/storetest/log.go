package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rustynet/rustynet/hostapi"
)

func testAppendIndex(t *testing.T, h *harness) {
	s := h.open(t, newDir(t))
	for _, tc := range []struct {
		name  string
		index uint64
		want  hostapi.Code
	}{
		{"zero on empty log", 0, hostapi.CodeConflict},
		{"two on empty log", 2, hostapi.CodeConflict},
		{"one on empty log", 1, hostapi.CodeOK},
		{"one again", 1, hostapi.CodeConflict},
		{"zero", 0, hostapi.CodeConflict},
		{"skip ahead", 3, hostapi.CodeConflict},
		{"far ahead", 1 << 63, hostapi.CodeConflict},
		{"two", 2, hostapi.CodeOK},
		{"one after two", 1, hostapi.CodeConflict},
	} {
		err := s.Append(t.Context(), hostapi.LogEntry{Index: tc.index, Data: []byte(tc.name)})
		wantCode(t, tc.name, err, tc.want)
	}
	if got := head(t, s); got != 2 {
		t.Errorf("Head: got %d, want 2", got)
	}
	got, err := s.ReadLog(t.Context(), 1, 10)
	if err != nil {
		t.Fatalf("ReadLog(1, 10): got error %v, want nil", err)
	}
	want := []hostapi.LogEntry{{Index: 1, Data: []byte("one on empty log")}, {Index: 2, Data: []byte("two")}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log after rejected appends (-want +got):\n%s", diff)
	}
}

func testAppendData(t *testing.T, h *harness) {
	s := h.open(t, newDir(t))
	appendRange(t, s, 1, 1, small)
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"one byte over the limit", make([]byte, hostapi.MaxEntryBytes+1)},
	} {
		err := s.Append(t.Context(), hostapi.LogEntry{Index: 2, Data: tc.data})
		wantCode(t, tc.name, err, hostapi.CodeInvalidArgument)
	}
	if got := head(t, s); got != 1 {
		t.Errorf("Head after rejected appends: got %d, want 1", got)
	}
	appendRange(t, s, 2, 2, small)
	checkLog(t, s, 1, 2, small)
}

func testHead(t *testing.T, h *harness) {
	s := h.open(t, newDir(t))
	if got := head(t, s); got != 0 {
		t.Errorf("Head of empty log: got %d, want 0", got)
	}
	for i := uint64(1); i <= 3; i++ {
		appendRange(t, s, i, i, small)
		if got := head(t, s); got != i {
			t.Errorf("Head after Append(%d): got %d, want %d", i, got, i)
		}
	}
}

func testReadLog(t *testing.T, h *harness) {
	s := h.open(t, newDir(t))
	appendRange(t, s, 1, 5, small)
	for _, tc := range []struct {
		name        string
		from        uint64
		limit       int
		first, last uint64 // the entries wanted; none when first > last
		want        hostapi.Code
	}{
		{"whole log", 1, 5, 1, 5, hostapi.CodeOK},
		{"limit beyond end", 1, 100, 1, 5, hostapi.CodeOK},
		{"huge limit", 1, int(^uint(0) >> 1), 1, 5, hostapi.CodeOK},
		{"middle", 2, 2, 2, 3, hostapi.CodeOK},
		{"last", 5, 1, 5, 5, hostapi.CodeOK},
		{"tail beyond end", 4, 10, 4, 5, hostapi.CodeOK},
		{"head plus one", 6, 1, 1, 0, hostapi.CodeOK},
		{"head plus one large limit", 6, 10, 1, 0, hostapi.CodeOK},
		{"head plus two", 7, 1, 0, 0, hostapi.CodeNotFound},
		{"far beyond", 1 << 62, 1, 0, 0, hostapi.CodeNotFound},
		{"max index", ^uint64(0), 1, 0, 0, hostapi.CodeNotFound},
		{"from zero", 0, 1, 0, 0, hostapi.CodeInvalidArgument},
		{"limit zero", 1, 0, 0, 0, hostapi.CodeInvalidArgument},
		{"limit negative", 1, -1, 0, 0, hostapi.CodeInvalidArgument},
		{"limit zero beyond", 7, 0, 0, 0, hostapi.CodeInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ReadLog(t.Context(), tc.from, tc.limit)
			wantCode(t, "ReadLog", err, tc.want)
			if err != nil {
				return
			}
			want := []hostapi.LogEntry{}
			for i := tc.first; i <= tc.last && tc.last != 0; i++ {
				want = append(want, hostapi.LogEntry{Index: i, Data: small(i)})
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ReadLog(%d, %d) (-want +got):\n%s", tc.from, tc.limit, diff)
			}
		})
	}
}

func testReadLogEmpty(t *testing.T, h *harness) {
	s := h.open(t, newDir(t))
	got, err := s.ReadLog(t.Context(), 1, 10)
	if err != nil || len(got) != 0 {
		t.Errorf("ReadLog(1, 10) on empty log: got %v, %v; want no entries, nil", got, err)
	}
	_, err = s.ReadLog(t.Context(), 2, 10)
	wantCode(t, "ReadLog(2, 10) on empty log", err, hostapi.CodeNotFound)
}

func testNoAliasing(t *testing.T, h *harness) {
	s := h.open(t, newDir(t))
	data := []byte("original")
	if err := s.Append(t.Context(), hostapi.LogEntry{Index: 1, Data: data}); err != nil {
		t.Fatalf("Append: got error %v, want nil", err)
	}
	snap := []byte("snapshot")
	if err := s.PutSnapshot(t.Context(), hostapi.Snapshot{Index: 1, Data: snap}); err != nil {
		t.Fatalf("PutSnapshot: got error %v, want nil", err)
	}
	copy(data, "clobber!")
	copy(snap, "clobber!")
	got, err := s.ReadLog(t.Context(), 1, 1)
	if err != nil {
		t.Fatalf("ReadLog: got error %v, want nil", err)
	}
	copy(got[0].Data, "scribble")
	checkLog(t, s, 1, 1, func(uint64) []byte { return []byte("original") })
	checkSnapshot(t, s, hostapi.Snapshot{Index: 1, Data: []byte("snapshot")})
}

func testCanceledWrite(t *testing.T, h *harness) {
	s := h.open(t, newDir(t))
	appendRange(t, s, 1, 1, small)
	want := hostapi.Snapshot{Index: 1, Data: []byte("kept")}
	if err := s.PutSnapshot(t.Context(), want); err != nil {
		t.Fatalf("PutSnapshot: got error %v, want nil", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Append(ctx, hostapi.LogEntry{Index: 2, Data: small(2)}); err == nil {
		t.Errorf("Append with canceled context: got nil, want an error")
	}
	if err := s.PutSnapshot(ctx, hostapi.Snapshot{Index: 2, Data: []byte("lost")}); err == nil {
		t.Errorf("PutSnapshot with canceled context: got nil, want an error")
	}
	if got := head(t, s); got != 1 {
		t.Errorf("Head after canceled Append: got %d, want 1", got)
	}
	checkSnapshot(t, s, want)
}

// testConcurrentAppend races appenders that each append at the head they
// last saw, with readers alongside: every index must be won exactly once,
// every loser must get ErrConflict, and the log must hold the winners' data.
func testConcurrentAppend(t *testing.T, h *harness) {
	const (
		writers = 8
		readers = 2
		target  = 100
	)
	s := h.open(t, newDir(t))
	var (
		mu      sync.Mutex
		winners = map[uint64][]byte{}
		wg      sync.WaitGroup
		errs    = make(chan error, writers+readers)
		done    = make(chan struct{})
	)
	for w := range writers {
		wg.Go(func() {
			for {
				hd, err := s.Head(context.Background())
				if err != nil {
					errs <- err
					return
				}
				if hd >= target {
					return
				}
				data := []byte{byte(w), byte(hd + 1)}
				err = s.Append(context.Background(), hostapi.LogEntry{Index: hd + 1, Data: data})
				switch {
				case err == nil:
					mu.Lock()
					if prev, ok := winners[hd+1]; ok {
						mu.Unlock()
						errs <- fmt.Errorf("index %d won twice: by writer %d and %d", hd+1, prev[0], w)
						return
					}
					winners[hd+1] = data
					mu.Unlock()
				case !errors.Is(err, hostapi.ErrConflict):
					errs <- err
					return
				}
			}
		})
	}
	var rg sync.WaitGroup
	for range readers {
		rg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				hd, err := s.Head(context.Background())
				if err == nil && hd > 0 {
					_, err = s.ReadLog(context.Background(), 1, int(hd))
				}
				if err == nil {
					_, err = s.GetSnapshot(context.Background())
					if errors.Is(err, hostapi.ErrNotFound) {
						err = nil
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(done)
	rg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent call: %v", err)
	}
	if got := head(t, s); got != target {
		t.Fatalf("Head: got %d, want %d", got, target)
	}
	if len(winners) != target {
		t.Errorf("successful appends: got %d, want %d", len(winners), target)
	}
	checkLog(t, s, 1, target, func(i uint64) []byte { return winners[i] })
}
