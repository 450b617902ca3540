package storesqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
)

// TestPragmas checks the durability settings on the store's own connection.
func TestPragmas(t *testing.T) {
	s := New(nil)
	if err := s.Open(t.Context(), hostapi.StoreConfig{Dir: filepath.Join(t.TempDir(), "store")}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	for _, tc := range []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "2"},
		{"busy_timeout", busyTimeoutMillis},
	} {
		var got string
		if err := s.db.QueryRowContext(t.Context(), "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", tc.pragma, err)
		}
		if got != tc.want {
			t.Errorf("PRAGMA %s: got %q, want %q", tc.pragma, got, tc.want)
		}
	}
}
