package ledger

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/poll"
)

// TestHighWaterWriteFailureIsRetriedAndVisible fails the mark's writes, as
// a full disk does: the applied update stands (it is durable in the log),
// the status says the mark lags and why, and once writes work again the
// mark catches up by itself, with no further update, and the status clears.
func TestHighWaterWriteFailureIsRetriedAndVisible(t *testing.T) {
	var full atomic.Bool
	write := writeMarkFile
	writeMarkFile = func(k *keptMark, path string, data []byte, perm fs.FileMode) error {
		if full.Load() {
			k.close() // as a failed write does
			return &fs.PathError{Op: "write", Path: path, Err: syscall.ENOSPC}
		}
		return write(k, path, data, perm)
	}
	t.Cleanup(func() { writeMarkFile = write })

	f := newFixture(t, "file")
	l, _ := f.open(t)
	t.Cleanup(func() { l.Close(context.Background()) }) // before writeMarkFile is put back
	if _, err := l.Apply(context.Background(), f.net.Log[0]); err != nil {
		t.Fatalf("apply genesis: %v", err)
	}
	if st := l.Status(); st.HighWaterError != "" {
		t.Fatalf("after a good write: HighWaterError %q, want none", st.HighWaterError)
	}

	full.Store(true)
	f.addNodes(t, l, 1) // acknowledged: the entry is durable
	st := l.Status()
	if st.Head != 2 {
		t.Fatalf("head %d after the apply, want 2", st.Head)
	}
	if !strings.Contains(st.HighWaterError, "no space left on device") {
		t.Errorf("while the mark cannot be written: HighWaterError %q, want the write's error", st.HighWaterError)
	}
	if hw := readMark(t, f.hw); hw.Index != 1 {
		t.Fatalf("mark at %d while writes fail, want still 1", hw.Index)
	}

	full.Store(false)
	if err := poll.Until(30*time.Second, 10*time.Millisecond, func() bool { return l.Status().HighWaterError == "" }); err != nil {
		t.Fatalf("the mark never caught up once writes worked: %v; status %+v", err, l.Status())
	}
	if hw := readMark(t, f.hw); hw.Index != 2 {
		t.Errorf("mark at %d after the retry, want 2", hw.Index)
	}
}

func readMark(t *testing.T, path string) *highWater {
	t.Helper()
	hw, err := readHighWater(path)
	if err != nil || hw == nil {
		t.Fatalf("reading the mark: %v, %v", hw, err)
	}
	return hw
}

// TestReadFirstWritesNothingUntilItApplies opens a ledger as a reading
// command does: it verifies, but creates no high-water mark and writes no
// snapshot on Close; an Apply writes as usual, its mark included.
func TestReadFirstWritesNothingUntilItApplies(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			f, entries, _ := populated(t, kind)
			f.rewrite(t, entries, nil) // a log whose snapshot a normal Close would write
			if err := os.Remove(f.hw); err != nil {
				t.Fatal(err)
			}
			s := openStore(t, kind, f.dir)
			cfg := f.config(s)
			cfg.ReadFirst = true
			l, err := Open(context.Background(), cfg)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if err := l.Restricted(); err != nil {
				t.Fatalf("restricted: %v", err)
			}
			if st := l.Status(); st.Head != uint64(len(entries)) {
				t.Errorf("head %d, want %d", st.Head, len(entries))
			}
			if err := l.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(f.hw); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("high-water mark after a read-first Open: %v, want none created", err)
			}
			if _, err := s.GetSnapshot(context.Background()); !errors.Is(err, hostapi.ErrNotFound) {
				t.Errorf("snapshot after a read-first Close: %v, want none written", err)
			}

			l, err = Open(context.Background(), cfg)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			id := membershiptest.NodeID(2000)
			u := f.net.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node(id, 2000)})
			f.net.Sign(t, u, "alice", "bob")
			if _, err := l.Apply(context.Background(), u); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if hw := readMark(t, f.hw); hw.Index != uint64(len(entries))+1 {
				t.Errorf("mark at %d after the Apply, want %d", hw.Index, len(entries)+1)
			}
		})
	}
}
