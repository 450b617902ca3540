package storefile

import (
	"errors"
	"os"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/storelayout"
)

// TestTruncateClosesRetired checks that Truncate closes the segments a
// read-first store loaded before its first write made it writable: some
// systems (Windows) remove or replace no file that is open.
func TestTruncateClosesRetired(t *testing.T) {
	smallSegments(t)
	s, dir := openFilled(t, 9, 1000)
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Setenv(storelayout.ReadFirstEnv, "1")
	r := New(nil)
	if err := r.Open(t.Context(), hostapi.StoreConfig{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	var old []*os.File
	for _, g := range r.files.Load().entries.segs {
		old = append(old, g.f)
	}
	if err := r.Truncate(t.Context(), 2); err != nil {
		t.Fatal(err)
	}
	for _, f := range old {
		if _, err := f.Stat(); !errors.Is(err, os.ErrClosed) {
			t.Errorf("%s, loaded before the store was made writable, is still open after Truncate", f.Name())
		}
	}
	if len(r.retired) != 0 {
		t.Errorf("%d retired logs kept after Truncate", len(r.retired))
	}
	if h, err := r.Head(t.Context()); err != nil || h != 2 {
		t.Errorf("Head: %d, %v; want 2", h, err)
	}
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Setenv(storelayout.ReadFirstEnv, "")
	checkLog(t, dir, 2, func(uint64) int { return 1000 })
}
