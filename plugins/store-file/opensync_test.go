package storefile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/atomicfile"
	"github.com/rustynet/rustynet/internal/storelayout"
)

// TestOpenSyncsHead checks that a writable Open makes the head it reports
// durable (the last segment datasynced) and fails if it cannot, and that
// a read-first Open syncs nothing.
func TestOpenSyncsHead(t *testing.T) {
	s, dir := openFilled(t, 3, 100)
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	var synced []string
	fail := false
	headSync = func(f *os.File) error {
		synced = append(synced, filepath.Base(f.Name()))
		if fail {
			return errors.New("sync failed")
		}
		return atomicfile.Datasync(f)
	}
	t.Cleanup(func() { headSync = atomicfile.Datasync })

	t.Setenv(storelayout.ReadFirstEnv, "1")
	r := New(nil)
	if err := r.Open(t.Context(), hostapi.StoreConfig{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	r.Close(t.Context())
	if len(synced) != 0 {
		t.Errorf("a read-first Open synced %v", synced)
	}

	t.Setenv(storelayout.ReadFirstEnv, "")
	w := New(nil)
	if err := w.Open(t.Context(), hostapi.StoreConfig{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	w.Close(t.Context())
	if want := []string{segmentName(1)}; len(synced) != 1 || synced[0] != want[0] {
		t.Errorf("a writable Open synced %v, want %v", synced, want)
	}

	fail = true
	f := New(nil)
	if err := f.Open(t.Context(), hostapi.StoreConfig{Dir: dir}); err == nil {
		f.Close(t.Context())
		t.Error("Open with a failing sync of the last segment: got nil, want an error")
	}
}
