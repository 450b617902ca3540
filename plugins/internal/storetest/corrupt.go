package storetest

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/hostapi"
)

// The corruption cases know nothing of a store's layout: they plant a unique
// marker in the data, close the store, and flip a byte of the marker wherever
// it appears on disk. A store must keep data bytes verbatim somewhere, so the
// marker is found; a store that cannot tell the flip fails the case.

// marker is 32 bytes that occur nowhere else in a store directory.
var marker = sized(0x6d61726b, 32)

// withMarker returns data that embeds marker.
func withMarker(prefix string) []byte {
	return append(append([]byte(prefix), marker...), " end"...)
}

// flipMarker flips one byte of every occurrence of marker in the regular
// files below dir and fails if there is none.
func flipMarker(t *testing.T, dir string) {
	t.Helper()
	flipped := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n := 0
		for i := bytes.Index(b, marker); i >= 0; i = bytes.Index(b, marker) {
			b[i+len(marker)/2] ^= 0xff
			n++
		}
		if n == 0 {
			return nil
		}
		flipped += n
		return os.WriteFile(path, b, 0o600)
	})
	if err != nil {
		t.Fatalf("corrupt %s: %v", dir, err)
	}
	if flipped == 0 {
		t.Fatalf("marker not found in %s: the store does not keep data bytes verbatim", dir)
	}
}

func testCorruptEntry(t *testing.T, h *harness) {
	dir := newDir(t)
	gen := func(i uint64) []byte {
		if i == 2 {
			return withMarker("entry 2 ")
		}
		return small(i)
	}
	s := h.open(t, dir)
	appendRange(t, s, 1, 3, gen)
	snap := hostapi.Snapshot{Index: 3, Data: []byte("snapshot")}
	if err := s.PutSnapshot(t.Context(), snap); err != nil {
		t.Fatalf("PutSnapshot: got error %v, want nil", err)
	}
	closeStore(t, s)
	flipMarker(t, dir)

	s = h.open(t, dir)
	for _, tc := range []struct {
		from  uint64
		limit int
	}{{2, 1}, {1, 3}, {1, 2}, {2, 2}} {
		_, err := s.ReadLog(t.Context(), tc.from, tc.limit)
		wantCode(t, "ReadLog over the damaged entry", err, hostapi.CodeCorrupt)
	}
	checkLog(t, s, 1, 1, gen)
	checkLog(t, s, 3, 3, gen)
	checkSnapshot(t, s, snap)
}

func testCorruptSnapshot(t *testing.T, h *harness) {
	dir := newDir(t)
	s := h.open(t, dir)
	appendRange(t, s, 1, 2, small)
	if err := s.PutSnapshot(t.Context(), hostapi.Snapshot{Index: 2, Data: withMarker("snapshot ")}); err != nil {
		t.Fatalf("PutSnapshot: got error %v, want nil", err)
	}
	closeStore(t, s)
	flipMarker(t, dir)

	s = h.open(t, dir)
	_, err := s.GetSnapshot(t.Context())
	wantCode(t, "GetSnapshot of the damaged snapshot", err, hostapi.CodeCorrupt)
	checkLog(t, s, 1, 2, small)
	// A new snapshot replaces the damaged one.
	want := hostapi.Snapshot{Index: 2, Data: []byte("fresh")}
	if err := s.PutSnapshot(t.Context(), want); err != nil {
		t.Fatalf("PutSnapshot over the damaged snapshot: got error %v, want nil", err)
	}
	checkSnapshot(t, s, want)
}

// testDamagedFiles damages every file of a populated store at once, in
// several ways. Open must fail with ErrCorrupt, or succeed and then every
// read must fail with ErrCorrupt or return exactly what was written (damage
// a store can tell is harmless, such as bytes past a database's end);
// nothing may panic or return wrong bytes.
func testDamagedFiles(t *testing.T, h *harness) {
	for _, tc := range []struct {
		name   string
		damage func([]byte) []byte
	}{
		{"truncated to half", func(b []byte) []byte { return b[:len(b)/2] }},
		{"truncated to one byte", func(b []byte) []byte { return b[:1] }},
		{"emptied", func([]byte) []byte { return nil }},
		{"overwritten", func(b []byte) []byte { return bytes.Repeat([]byte{0xa5}, len(b)) }},
		{"zeroed", func(b []byte) []byte { return make([]byte, len(b)) }},
		{"extended", func(b []byte) []byte { return append(b, "trailing garbage"...) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := newDir(t)
			h.populate(t, dir)
			err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				if err != nil || !d.Type().IsRegular() {
					return err
				}
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				return os.WriteFile(path, tc.damage(b), 0o600)
			})
			if err != nil {
				t.Fatal(err)
			}
			s := h.newStore()
			err = s.Open(t.Context(), hostapi.StoreConfig{Dir: dir})
			if err != nil {
				wantCode(t, "Open of a damaged store", err, hostapi.CodeCorrupt)
				return
			}
			defer s.Close(t.Context())
			entries, err := s.ReadLog(t.Context(), 1, 3)
			if err != nil {
				wantCode(t, "ReadLog of a damaged store", err, hostapi.CodeCorrupt)
			} else if diff := cmp.Diff(populated, entries); diff != "" {
				t.Errorf("ReadLog of a damaged store: got wrong entries (-want +got):\n%s", diff)
			}
			snap, err := s.GetSnapshot(t.Context())
			if err != nil {
				wantCode(t, "GetSnapshot of a damaged store", err, hostapi.CodeCorrupt)
			} else if diff := cmp.Diff(populatedSnapshot, snap); diff != "" {
				t.Errorf("GetSnapshot of a damaged store: got wrong snapshot (-want +got):\n%s", diff)
			}
		})
	}
}
