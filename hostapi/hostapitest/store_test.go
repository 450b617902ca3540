package hostapitest_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/hostapi/hostapitest"
)

// storeFactory returns a Store on disk to run the contract tests against.
type storeFactory func(t *testing.T, disk *hostapitest.Disk) hostapi.Store

// storeTargets runs every Store test directly and across the gRPC boundary.
var storeTargets = map[string]storeFactory{
	"direct": func(t *testing.T, disk *hostapitest.Disk) hostapi.Store { return disk.NewStore() },
	"over gRPC": func(t *testing.T, disk *hostapitest.Disk) hostapi.Store {
		c, err := hostapi.ServeStoreTest(t.Context(), disk.NewStore())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Kill)
		return c
	},
}

func runStoreTargets(t *testing.T, test func(t *testing.T, newStore func() hostapi.Store)) {
	for name, factory := range storeTargets {
		t.Run(name, func(t *testing.T) {
			disk := hostapitest.NewDisk()
			test(t, func() hostapi.Store { return factory(t, disk) })
		})
	}
}

const dir = "/var/lib/rustynet/store"

func openStore(t *testing.T, s hostapi.Store) {
	t.Helper()
	if err := s.Open(t.Context(), hostapi.StoreConfig{Dir: dir}); err != nil {
		t.Fatalf("Open: %v", err)
	}
}

func appendN(t *testing.T, s hostapi.Store, n int) {
	t.Helper()
	head, err := s.Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		idx := head + uint64(i) + 1
		if err := s.Append(t.Context(), hostapi.LogEntry{Index: idx, Data: []byte{byte(idx)}}); err != nil {
			t.Fatalf("Append(%d): %v", idx, err)
		}
	}
}

func wantIs(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got %v, want %v", what, err, want)
	}
}

func TestStoreLifecycle(t *testing.T) {
	runStoreTargets(t, func(t *testing.T, newStore func() hostapi.Store) {
		ctx := t.Context()
		s := newStore()
		if info, err := s.Info(ctx); err != nil || info.Name != "memory" || !info.Capabilities.Has(hostapi.StoreCapLock) {
			t.Errorf("Info before Open = %+v, %v", info, err)
		}
		_, err := s.Head(ctx)
		wantIs(t, "Head before Open", err, hostapi.ErrClosed)
		wantIs(t, "Append before Open", s.Append(ctx, hostapi.LogEntry{Index: 1, Data: []byte{1}}), hostapi.ErrClosed)
		_, err = s.ReadLog(ctx, 1, 1)
		wantIs(t, "ReadLog before Open", err, hostapi.ErrClosed)
		wantIs(t, "PutSnapshot before Open", s.PutSnapshot(ctx, hostapi.Snapshot{Data: []byte{1}}), hostapi.ErrClosed)
		_, err = s.GetSnapshot(ctx)
		wantIs(t, "GetSnapshot before Open", err, hostapi.ErrClosed)

		wantIs(t, "Open relative dir", s.Open(ctx, hostapi.StoreConfig{Dir: "rel"}), hostapi.ErrInvalidArgument)
		wantIs(t, "Open unclean dir", s.Open(ctx, hostapi.StoreConfig{Dir: "/a/../b"}), hostapi.ErrInvalidArgument)
		openStore(t, s)
		wantIs(t, "Open twice", s.Open(ctx, hostapi.StoreConfig{Dir: dir}), hostapi.ErrConflict)

		other := newStore()
		wantIs(t, "Open a locked dir", other.Open(ctx, hostapi.StoreConfig{Dir: dir}), hostapi.ErrLocked)
		if err := other.Open(ctx, hostapi.StoreConfig{Dir: dir + "2"}); err != nil {
			t.Errorf("Open another dir: %v", err)
		}

		appendN(t, s, 2)
		if err := s.Close(ctx); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := s.Close(ctx); err != nil {
			t.Errorf("second Close: %v", err)
		}
		_, err = s.Head(ctx)
		wantIs(t, "Head after Close", err, hostapi.ErrClosed)
		wantIs(t, "Open after Close", s.Open(ctx, hostapi.StoreConfig{Dir: dir}), hostapi.ErrClosed)

		reopened := newStore()
		openStore(t, reopened)
		if head, err := reopened.Head(ctx); err != nil || head != 2 {
			t.Errorf("Head after reopening = %d, %v; want 2", head, err)
		}
	})
}

func TestStoreAppendAndRead(t *testing.T) {
	runStoreTargets(t, func(t *testing.T, newStore func() hostapi.Store) {
		ctx := t.Context()
		s := newStore()
		openStore(t, s)
		if head, err := s.Head(ctx); err != nil || head != 0 {
			t.Fatalf("Head of an empty log = %d, %v; want 0", head, err)
		}
		appendN(t, s, 5)
		appendTests := []struct {
			name  string
			entry hostapi.LogEntry
			want  error
		}{
			{"index 0", hostapi.LogEntry{Index: 0, Data: []byte{1}}, hostapi.ErrConflict},
			{"overwrite", hostapi.LogEntry{Index: 5, Data: []byte{1}}, hostapi.ErrConflict},
			{"gap", hostapi.LogEntry{Index: 7, Data: []byte{1}}, hostapi.ErrConflict},
			{"empty data", hostapi.LogEntry{Index: 6}, hostapi.ErrInvalidArgument},
			{"too large", hostapi.LogEntry{Index: 6, Data: make([]byte, hostapi.MaxEntryBytes+1)}, hostapi.ErrInvalidArgument},
		}
		for _, tt := range appendTests {
			t.Run("Append "+tt.name, func(t *testing.T) {
				wantIs(t, "Append", s.Append(ctx, tt.entry), tt.want)
				if head, _ := s.Head(ctx); head != 5 {
					t.Errorf("Head after a failed Append = %d, want 5", head)
				}
			})
		}

		readTests := []struct {
			name        string
			from        uint64
			limit       int
			wantIndexes []uint64
			wantErr     error
		}{
			{"all", 1, 5, []uint64{1, 2, 3, 4, 5}, nil},
			{"limit beyond the end", 4, 100, []uint64{4, 5}, nil},
			{"partial", 2, 2, []uint64{2, 3}, nil},
			{"just past the head", 6, 1, []uint64{}, nil},
			{"beyond the head", 7, 1, nil, hostapi.ErrNotFound},
			{"from 0", 0, 1, nil, hostapi.ErrInvalidArgument},
			{"zero limit", 1, 0, nil, hostapi.ErrInvalidArgument},
			{"negative limit", 1, -1, nil, hostapi.ErrInvalidArgument},
		}
		for _, tt := range readTests {
			t.Run("ReadLog "+tt.name, func(t *testing.T) {
				got, err := s.ReadLog(ctx, tt.from, tt.limit)
				if tt.wantErr != nil {
					wantIs(t, "ReadLog", err, tt.wantErr)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				indexes := []uint64{}
				for _, e := range got {
					indexes = append(indexes, e.Index)
					if !bytes.Equal(e.Data, []byte{byte(e.Index)}) {
						t.Errorf("entry %d data %v", e.Index, e.Data)
					}
				}
				if diff := cmp.Diff(tt.wantIndexes, indexes); diff != "" {
					t.Errorf("indexes (-want +got):\n%s", diff)
				}
			})
		}
	})
}

func TestStoreCopiesData(t *testing.T) {
	runStoreTargets(t, func(t *testing.T, newStore func() hostapi.Store) {
		ctx := t.Context()
		s := newStore()
		openStore(t, s)
		data := []byte("abc")
		if err := s.Append(ctx, hostapi.LogEntry{Index: 1, Data: data}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutSnapshot(ctx, hostapi.Snapshot{Index: 1, Data: data}); err != nil {
			t.Fatal(err)
		}
		data[0] = 'X'
		got, _ := s.ReadLog(ctx, 1, 1)
		got[0].Data[1] = 'Y'
		snap, _ := s.GetSnapshot(ctx)
		snap.Data[2] = 'Z'
		again, _ := s.ReadLog(ctx, 1, 1)
		snapAgain, _ := s.GetSnapshot(ctx)
		if string(again[0].Data) != "abc" || string(snapAgain.Data) != "abc" {
			t.Errorf("stored data changed through caller's slices: entry %q, snapshot %q", again[0].Data, snapAgain.Data)
		}
	})
}

func TestStoreSnapshot(t *testing.T) {
	runStoreTargets(t, func(t *testing.T, newStore func() hostapi.Store) {
		ctx := t.Context()
		s := newStore()
		openStore(t, s)
		_, err := s.GetSnapshot(ctx)
		wantIs(t, "GetSnapshot before any Put", err, hostapi.ErrNotFound)
		wantIs(t, "PutSnapshot empty", s.PutSnapshot(ctx, hostapi.Snapshot{Index: 1}), hostapi.ErrInvalidArgument)
		wantIs(t, "PutSnapshot too large", s.PutSnapshot(ctx, hostapi.Snapshot{Index: 1, Data: make([]byte, hostapi.MaxSnapshotBytes+1)}), hostapi.ErrInvalidArgument)
		_, err = s.GetSnapshot(ctx)
		wantIs(t, "GetSnapshot after failed Puts", err, hostapi.ErrNotFound)
		for _, want := range []hostapi.Snapshot{{Index: 3, Data: []byte("first")}, {Index: 9, Data: []byte("second")}} {
			if err := s.PutSnapshot(ctx, want); err != nil {
				t.Fatal(err)
			}
			got, err := s.GetSnapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("snapshot (-want +got):\n%s", diff)
			}
		}
	})
}

func TestStoreConcurrentAppendsAtOneIndex(t *testing.T) {
	runStoreTargets(t, func(t *testing.T, newStore func() hostapi.Store) {
		s := newStore()
		openStore(t, s)
		const writers = 16
		errs := make(chan error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() { errs <- s.Append(t.Context(), hostapi.LogEntry{Index: 1, Data: []byte{byte(i)}}) })
		}
		wg.Wait()
		close(errs)
		ok := 0
		for err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, hostapi.ErrConflict):
				t.Errorf("losing Append: got %v, want ErrConflict", err)
			}
		}
		if ok != 1 {
			t.Errorf("%d Appends at index 1 succeeded, want exactly 1", ok)
		}
	})
}

func TestStoreDoneContextChangesNothing(t *testing.T) {
	s := hostapitest.NewStore()
	openStore(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Append(ctx, hostapi.LogEntry{Index: 1, Data: []byte{1}}); !errors.Is(err, context.Canceled) {
		t.Errorf("Append with a canceled ctx: got %v, want context.Canceled", err)
	}
	if head, _ := s.Head(t.Context()); head != 0 {
		t.Errorf("Head = %d after a canceled Append, want 0", head)
	}
}

func TestStoreFault(t *testing.T) {
	s := hostapitest.NewStore()
	openStore(t, s)
	boom := hostapi.Errorf(hostapi.CodeUnavailable, "injected")
	s.SetFault(func(_ context.Context, op string) error {
		if op == "Append" {
			return boom
		}
		return nil
	})
	if err := s.Append(t.Context(), hostapi.LogEntry{Index: 1, Data: []byte{1}}); err != boom {
		t.Errorf("Append: got %v, want the injected error", err)
	}
	if head, err := s.Head(t.Context()); err != nil || head != 0 {
		t.Errorf("Head = %d, %v; want 0, nil", head, err)
	}
	s.SetFault(nil)
	appendN(t, s, 1)
}

func TestStoreTruncate(t *testing.T) {
	tests := []struct {
		name     string
		after    uint64
		snapshot uint64 // index of the snapshot put before Truncate
		wantErr  error
		wantHead uint64
		wantSnap bool // whether the snapshot is kept
	}{
		{"to the middle, snapshot below", 2, 1, nil, 2, true},
		{"to the middle, snapshot at the new head", 2, 2, nil, 2, true},
		{"to the middle, snapshot above", 2, 3, nil, 2, false},
		{"to empty", 0, 1, nil, 0, false},
		{"at the head", 5, 1 << 63, nil, 5, true},
		{"beyond the head", 6, 4, hostapi.ErrConflict, 5, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runStoreTargets(t, func(t *testing.T, newStore func() hostapi.Store) {
				ctx := t.Context()
				s := newStore()
				openStore(t, s)
				appendN(t, s, 5)
				snap := hostapi.Snapshot{Index: tt.snapshot, Data: []byte("snap")}
				if err := s.PutSnapshot(ctx, snap); err != nil {
					t.Fatal(err)
				}
				err := s.Truncate(ctx, tt.after)
				if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
					t.Fatalf("Truncate(%d): got %v, want %v", tt.after, err, tt.wantErr)
				}
				if head, err := s.Head(ctx); err != nil || head != tt.wantHead {
					t.Errorf("Head: got %d, %v; want %d", head, err, tt.wantHead)
				}
				got, err := s.GetSnapshot(ctx)
				switch {
				case tt.wantSnap && (err != nil || got.Index != snap.Index):
					t.Errorf("GetSnapshot: got %+v, %v; want index %d", got, err, snap.Index)
				case !tt.wantSnap:
					wantIs(t, "GetSnapshot", err, hostapi.ErrNotFound)
				}
				// The log goes on from the new head.
				appendN(t, s, 1)
				entries, err := s.ReadLog(ctx, 1, 10)
				if err != nil {
					t.Fatal(err)
				}
				var want []hostapi.LogEntry
				for i := uint64(1); i <= tt.wantHead+1; i++ {
					want = append(want, hostapi.LogEntry{Index: i, Data: []byte{byte(i)}})
				}
				if diff := cmp.Diff(want, entries); diff != "" {
					t.Errorf("log after Truncate and Append (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func TestStoreTruncateClosed(t *testing.T) {
	runStoreTargets(t, func(t *testing.T, newStore func() hostapi.Store) {
		s := newStore()
		wantIs(t, "Truncate before Open", s.Truncate(t.Context(), 0), hostapi.ErrClosed)
		openStore(t, s)
		if err := s.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		wantIs(t, "Truncate after Close", s.Truncate(t.Context(), 0), hostapi.ErrClosed)
	})
}
