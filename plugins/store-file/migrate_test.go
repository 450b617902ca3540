package storefile_test

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/storelayout"
)

// oldLayout makes at dir a store in the layout before segments: one file
// per entry, 1 to n, each one frame without a trailer, and a snapshot.
func oldLayout(t *testing.T, dir string, n uint64) {
	t.Helper()
	s := openStore(t, dir)
	must(t, s.PutSnapshot(t.Context(), hostapi.Snapshot{Index: n, Data: []byte("snapshot")}))
	must(t, s.Close(t.Context()))
	for i := uint64(1); i <= n; i++ {
		must(t, os.WriteFile(filepath.Join(dir, "log", oldName(i)), oldFrame(i, entry(i)), 0o600))
	}
}

// oldFrame returns an entry file of the layout before segments: magic,
// index, length, CRC-32C of those and data, data.
func oldFrame(index uint64, data []byte) []byte {
	b := []byte("RNE1")
	b = binary.BigEndian.AppendUint64(b, index)
	b = binary.BigEndian.AppendUint64(b, uint64(len(data)))
	b = binary.BigEndian.AppendUint32(b, crc32.Update(crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)), crc32.MakeTable(crc32.Castagnoli), data))
	return append(b, data...)
}

func oldName(i uint64) string { return fmt.Sprintf("%020d", i) }

// wantLog checks that the store at dir holds entries 1 to n and the
// snapshot at 5 that oldLayout put.
func wantLog(t *testing.T, dir string, n uint64) {
	t.Helper()
	s := openStore(t, dir)
	if h, err := s.Head(t.Context()); err != nil || h != n {
		t.Fatalf("Head: got %d, %v; want %d", h, err, n)
	}
	got, err := s.ReadLog(t.Context(), 1, 100)
	var want []hostapi.LogEntry
	for i := uint64(1); i <= n; i++ {
		want = append(want, hostapi.LogEntry{Index: i, Data: entry(i)})
	}
	if err != nil || !cmp.Equal(got, want) {
		t.Errorf("ReadLog: got %v, %v; want %v", got, err, want)
	}
	if snap, err := s.GetSnapshot(t.Context()); err != nil || snap.Index != 5 {
		t.Errorf("GetSnapshot: got %v, %v", snap, err)
	}
	must(t, s.Close(t.Context()))
}

// TestMigrate checks that a store in the old layout reads as it was, that
// a read-first Open leaves it so, and that a writable Open converts it to
// a segment, whatever step of an earlier conversion a crash interrupted.
func TestMigrate(t *testing.T) {
	const n = 5
	migrated := []string{".", "LOCK", "log", "log/seg-00000000000000000001", "snapshot"}
	old := []string{".", "LOCK", "log"}
	for i := uint64(1); i <= n; i++ {
		old = append(old, "log/"+oldName(i))
	}
	old = append(old, "snapshot")

	t.Run("read first, nothing changes", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "store")
		oldLayout(t, dir, n)
		t.Setenv(storelayout.ReadFirstEnv, "1")
		wantLog(t, dir, n)
		if diff := cmp.Diff(old, names(t, dir)); diff != "" {
			t.Errorf("files after a read-first Open (-want +got):\n%s", diff)
		}
	})
	t.Run("writable Open converts", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "store")
		oldLayout(t, dir, n)
		wantLog(t, dir, n)
		if diff := cmp.Diff(migrated, names(t, dir)); diff != "" {
			t.Errorf("files after a writable Open (-want +got):\n%s", diff)
		}
		b, err := os.ReadFile(seg1(dir))
		must(t, err)
		if len(b) != segSize || !allZero(b[frameOffset(n+1):]) || string(b[frameOffset(3):frameOffset(4)]) != string(frame(3, entry(3))) {
			t.Errorf("the converted segment is not the segment of a store that appended the same entries")
		}
	})
	t.Run("the first write of a read-first store converts", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "store")
		oldLayout(t, dir, n)
		t.Setenv(storelayout.ReadFirstEnv, "1")
		s := openStore(t, dir)
		must(t, s.Append(t.Context(), hostapi.LogEntry{Index: n + 1, Data: entry(n + 1)}))
		must(t, s.Close(t.Context()))
		if diff := cmp.Diff(migrated, names(t, dir)); diff != "" {
			t.Errorf("files (-want +got):\n%s", diff)
		}
		wantLog(t, dir, n+1)
	})
	t.Run("crash before the rename", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "store")
		oldLayout(t, dir, n)
		must(t, os.WriteFile(filepath.Join(dir, "log", ".tmp-segment"), []byte("half a segment"), 0o600))
		wantLog(t, dir, n)
		if diff := cmp.Diff(migrated, names(t, dir)); diff != "" {
			t.Errorf("files (-want +got):\n%s", diff)
		}
	})
	t.Run("crash between the rename and the removals", func(t *testing.T) {
		// Convert a copy, then put its segment beside the entry files.
		dir := filepath.Join(t.TempDir(), "store")
		oldLayout(t, dir, n)
		copyDir := filepath.Join(t.TempDir(), "copy")
		oldLayout(t, copyDir, n)
		wantLog(t, copyDir, n)
		b, err := os.ReadFile(seg1(copyDir))
		must(t, err)
		must(t, os.WriteFile(seg1(dir), b, 0o600))
		must(t, os.Remove(filepath.Join(dir, "log", oldName(2)))) // removals under way

		t.Setenv(storelayout.ReadFirstEnv, "1")
		before := names(t, dir)
		wantLog(t, dir, n)
		if diff := cmp.Diff(before, names(t, dir)); diff != "" {
			t.Errorf("files after a read-first Open (-before +after):\n%s", diff)
		}
		t.Setenv(storelayout.ReadFirstEnv, "")
		wantLog(t, dir, n)
		if diff := cmp.Diff(migrated, names(t, dir)); diff != "" {
			t.Errorf("files after a writable Open (-want +got):\n%s", diff)
		}
	})
	t.Run("a damaged old entry is not converted", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "store")
		oldLayout(t, dir, n)
		must(t, patch(filepath.Join(dir, "log", oldName(3)), 25, []byte{'x'}))
		before := names(t, dir)
		s := newStore()
		if err := s.Open(t.Context(), hostapi.StoreConfig{Dir: dir}); hostapi.CodeOf(err) != hostapi.CodeCorrupt {
			t.Errorf("Open: got %v, want CORRUPT", err)
			if err == nil {
				s.Close(t.Context())
			}
		}
		if diff := cmp.Diff(before, names(t, dir)); diff != "" {
			t.Errorf("files after the refused conversion (-before +after):\n%s", diff)
		}
	})
	t.Run("an old entry beyond the segments", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "store")
		oldLayout(t, dir, n)
		wantLog(t, dir, n)
		must(t, os.WriteFile(filepath.Join(dir, "log", oldName(n+1)), oldFrame(n+1, entry(n+1)), 0o600))
		s := newStore()
		if err := s.Open(t.Context(), hostapi.StoreConfig{Dir: dir}); hostapi.CodeOf(err) != hostapi.CodeCorrupt {
			t.Errorf("Open: got %v, want CORRUPT", err)
			if err == nil {
				s.Close(t.Context())
			}
		}
	})
}
