package ledger

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rustynet/rustynet/core/membership"
)

func markAt(i uint64) *highWater {
	return &highWater{Dir: "/state", Index: i, StateRoot: strings.Repeat("ab", 32), EntryHash: strings.Repeat("cd", 32)}
}

// TestMarkSlots: the mark is written in place in two slots; the newest
// valid slot is the mark, a torn or damaged newest slot leaves the one
// before it, and damage to both is an integrity failure.
func TestMarkSlots(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hw", "m.json")
	for i := uint64(1); i <= 5; i++ {
		if err := writeHighWater(path, markAt(i)); err != nil {
			t.Fatal(err)
		}
		if hw := readMark(t, path); hw.Index != i {
			t.Fatalf("after writing %d the mark reads %d", i, hw.Index)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil || len(data) != 2*markSlotSize {
		t.Fatalf("mark file of %d bytes (%v), want two slots", len(data), err)
	}
	// Mark 5 has seq 5: slot 1. Tear it.
	torn := append([]byte(nil), data...)
	for i := markSlotSize + markSlotHeader + 10; i < 2*markSlotSize; i++ {
		torn[i] = 0
	}
	if err := os.WriteFile(path, torn, 0o600); err != nil {
		t.Fatal(err)
	}
	if hw := readMark(t, path); hw.Index != 4 {
		t.Errorf("with the newest slot torn the mark reads %d, want 4", hw.Index)
	}
	// The next write goes after the valid one (seq 5 again, in slot 1).
	if err := writeHighWater(path, markAt(6)); err != nil {
		t.Fatal(err)
	}
	if hw := readMark(t, path); hw.Index != 6 {
		t.Errorf("after a write past a torn slot the mark reads %d, want 6", hw.Index)
	}
	both := make([]byte, 2*markSlotSize)
	copy(both, markMagic)
	copy(both[markSlotSize:], markMagic)
	if err := os.WriteFile(path, both, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readHighWater(path); membership.CodeOf(err) != membership.IntegrityFailure {
		t.Errorf("two spoilt slots: %v, want INTEGRITY_FAILURE", err)
	}
	for _, bad := range [][]byte{{}, []byte("junk"), make([]byte, markSlotSize)} {
		if err := os.WriteFile(path, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := readHighWater(path); membership.CodeOf(err) != membership.IntegrityFailure {
			t.Errorf("a mark of %d bytes: %v, want INTEGRITY_FAILURE", len(bad), err)
		}
	}
}

// TestLegacyMarkIsReadAndReplaced: a mark written by an older version (one
// JSON object) is read as it is, and the next write replaces it by slots.
func TestLegacyMarkIsReadAndReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hw", "m.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	legacy, _ := json.MarshalIndent(markAt(7), "", "  ")
	if err := os.WriteFile(path, append(legacy, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	if hw := readMark(t, path); hw.Index != 7 {
		t.Fatalf("legacy mark reads %d, want 7", hw.Index)
	}
	if err := writeHighWater(path, markAt(8)); err != nil {
		t.Fatal(err)
	}
	if hw := readMark(t, path); hw.Index != 8 {
		t.Fatalf("after the write the mark reads %d, want 8", hw.Index)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != 2*markSlotSize || fi.Mode().Perm() != 0o600 {
		t.Errorf("replaced mark: %v %v", fi, err)
	}
}

// TestKeptMarkWritesTheSameFile: a ledger's marks after its first go
// through the file it keeps open; each reads back at once, from the file
// at the path, in both layouts a first write finds (no file, a file of
// two slots), and after a failed write the next goes the whole way again.
func TestKeptMarkWritesTheSameFile(t *testing.T) {
	for _, existing := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "hw", "m.json")
		if existing {
			for i := uint64(1); i <= 3; i++ { // seq 3: the kept writes start in slot 0
				if err := writeHighWater(path, markAt(i)); err != nil {
					t.Fatal(err)
				}
			}
		}
		var k keptMark
		for i := uint64(10); i <= 16; i++ {
			if i == 13 {
				k.close() // as a failed write leaves it
			}
			if err := k.writeHighWater(path, markAt(i)); err != nil {
				t.Fatal(err)
			}
			if k.f == nil {
				t.Fatalf("mark %d: no file kept after a write", i)
			}
			if hw := readMark(t, path); hw.Index != i {
				t.Fatalf("existing file %v: after writing %d the mark reads %d", existing, i, hw.Index)
			}
		}
		k.close()
	}
}
