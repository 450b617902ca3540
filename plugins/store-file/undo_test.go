package storefile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/atomicfile"
)

// TestFailedAppend checks that an append whose sync fails is zeroed back,
// so that the error means nothing changed, and that one whose bytes cannot
// be zeroed back leaves the store refusing writes.
func TestFailedAppend(t *testing.T) {
	s, dir := openFilled(t, 3, 100)
	appendSync = func(*os.File) error { return errors.New("injected") }
	err := s.Append(t.Context(), hostapi.LogEntry{Index: 4, Data: data(4, 100)})
	appendSync = atomicfile.Datasync
	if err == nil {
		t.Fatal("Append with a failing sync: got nil, want an error")
	}
	if h, _ := s.Head(t.Context()); h != 3 {
		t.Errorf("Head after the failed Append: got %d, want 3", h)
	}
	b, err := os.ReadFile(filepath.Join(dir, "log", segmentName(1)))
	if err != nil {
		t.Fatal(err)
	}
	end := segHeaderSize + 3*frameSize(100)
	for _, c := range b[end:] {
		if c != 0 {
			t.Fatal("the failed append's bytes were not zeroed")
		}
	}
	if err := s.Append(t.Context(), hostapi.LogEntry{Index: 4, Data: data(4, 100)}); err != nil {
		t.Fatalf("Append after the failed one: %v", err)
	}

	// A segment that can no longer be written: the append and its undo
	// both fail, and the store refuses further writes.
	f := s.files.Load().entries.segs[0]
	ro, err := os.Open(filepath.Join(dir, "log", segmentName(1)))
	if err != nil {
		t.Fatal(err)
	}
	f.f, ro = ro, f.f
	defer ro.Close()
	if err := s.Append(t.Context(), hostapi.LogEntry{Index: 5, Data: data(5, 100)}); err == nil {
		t.Fatal("Append to a read-only segment: got nil, want an error")
	}
	if err := s.PutSnapshot(t.Context(), hostapi.Snapshot{Index: 4, Data: []byte("s")}); hostapi.CodeOf(err) != hostapi.CodeInternal {
		t.Errorf("PutSnapshot after a failed undo: got %v, want INTERNAL (the store failed)", err)
	}
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkLog(t, dir, 4, func(uint64) int { return 100 })
}
