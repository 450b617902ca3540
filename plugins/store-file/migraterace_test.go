package storefile_test

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/storelayout"
	storefile "github.com/rustynet/rustynet/plugins/store-file"
)

// TestMigrateBesideReadLog is the review's finding: a read-first store
// over the old layout whose first write converts the log (removing the
// entry files once the segments hold them) must not make a ReadLog
// running beside it fail with CORRUPT; nothing is damaged.
func TestMigrateBesideReadLog(t *testing.T) {
	const n = 400
	for iter := range 20 {
		dir := filepath.Join(t.TempDir(), "store")
		oldLayout(t, dir, n)
		t.Setenv(storelayout.ReadFirstEnv, "1")
		r := storefile.New(nil)
		must(t, r.Open(t.Context(), hostapi.StoreConfig{Dir: dir}))
		var wg sync.WaitGroup
		var readErr error
		stop := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := r.ReadLog(t.Context(), 1, n); err != nil {
					readErr = err
					return
				}
			}
		}()
		err := r.Append(t.Context(), hostapi.LogEntry{Index: n + 1, Data: entry(n + 1)})
		close(stop)
		wg.Wait()
		r.Close(t.Context())
		t.Setenv(storelayout.ReadFirstEnv, "")
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
		if readErr != nil {
			t.Fatalf("iteration %d: ReadLog beside the converting first write: %v", iter, readErr)
		}
	}
}
