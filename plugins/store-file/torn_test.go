package storefile_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/storelayout"
	storefile "github.com/rustynet/rustynet/plugins/store-file"
)

// TestTornTail checks the torn-tail rule of doc.go: what an append that a
// crash interrupted leaves after the last frame of the last segment is
// ignored by a read-first Open, which writes nothing, and saved aside then
// zeroed by a writable one; a whole frame there, or a trusted header of
// another entry, is damage.
func TestTornTail(t *testing.T) {
	big := bytes.Repeat([]byte{0xff}, 3000)
	full := frame(6, big)
	off := frameOffset(6)
	for _, tc := range []struct {
		name string
		tail []byte // written at the end of entry 5's frame
		torn bool   // else: entry 6 stays (and reads as CORRUPT) or Open fails
		open bool   // Open fails with CORRUPT
	}{
		{"a header fragment", full[:10], true, false},
		{"a whole header", full[:28], true, false},
		{"a prefix of the frame", full[:1000], true, false},
		{"the frame without its trailer", full[:len(full)-4], true, false},
		{"the frame with its trailer half written", full[:len(full)-2], true, false},
		{"the frame with a sector not written", zeroSector(full, off), true, false},
		{"the frame with its header zeroed", append(make([]byte, 28), full[28:]...), true, false},
		{"the frame with a damaged byte", flip(full, 600), false, false},
		{"the frame with a damaged header", flip(full, 13), true, false},
		{"garbage after the last frame", []byte{0, 0, 1}, true, false},
		{"a prefix of the frame, garbage after its end", append(append(append([]byte{}, full[:1000]...), make([]byte, len(full)-1000)...), 1), true, false},
		{"a prefix of the frame of another index", frame(7, big)[:1000], false, true},
		{"a damaged header, then the next frame", append(flip(full, 13), frame(7, big)...), false, true},
		{"garbage, then a frame", append([]byte{0, 0, 1}, full...), false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			populate(t, dir)
			must(t, patch(seg1(dir), off, tc.tail))
			before, err := os.ReadFile(seg1(dir))
			must(t, err)

			t.Setenv(storelayout.ReadFirstEnv, "1")
			r := storefile.New(nil)
			err = r.Open(t.Context(), hostapi.StoreConfig{Dir: dir})
			if tc.open {
				if hostapi.CodeOf(err) != hostapi.CodeCorrupt {
					t.Errorf("read-first Open: got %v, want CORRUPT", err)
				}
				if err == nil {
					must(t, r.Close(t.Context()))
				}
			} else {
				must(t, err)
				wantHead := uint64(6)
				if tc.torn {
					wantHead = 5
				}
				if h, err := r.Head(t.Context()); err != nil || h != wantHead {
					t.Errorf("read-first Head: got %d, %v; want %d", h, err, wantHead)
				}
				must(t, r.Close(t.Context()))
			}
			after, err := os.ReadFile(seg1(dir))
			must(t, err)
			if !bytes.Equal(before, after) {
				t.Errorf("a read-first Open changed the segment")
			}
			wantNames := []string{".", "LOCK", "log", "log/seg-00000000000000000001", "snapshot"}
			if diff := cmp.Diff(wantNames, names(t, dir)); diff != "" {
				t.Errorf("files after a read-first Open (-want +got):\n%s", diff)
			}

			t.Setenv(storelayout.ReadFirstEnv, "")
			w := storefile.New(nil)
			err = w.Open(t.Context(), hostapi.StoreConfig{Dir: dir})
			if tc.open {
				if hostapi.CodeOf(err) != hostapi.CodeCorrupt {
					t.Errorf("Open: got %v, want CORRUPT", err)
				}
				after, rerr := os.ReadFile(seg1(dir))
				must(t, rerr)
				if !bytes.Equal(before, after) {
					t.Errorf("a failed Open changed the segment")
				}
				return
			}
			must(t, err)
			defer w.Close(t.Context())
			h, err := w.Head(t.Context())
			must(t, err)
			if !tc.torn {
				if h != 6 {
					t.Fatalf("Head: got %d, want 6", h)
				}
				if _, err := w.ReadLog(t.Context(), 6, 1); hostapi.CodeOf(err) != hostapi.CodeCorrupt {
					t.Errorf("ReadLog(6): got %v, want CORRUPT", err)
				}
				return
			}
			if h != 5 {
				t.Fatalf("Head: got %d, want 5", h)
			}
			after, err = os.ReadFile(seg1(dir))
			must(t, err)
			if !allZero(after[off:]) {
				t.Errorf("the torn append was not zeroed")
			}
			// The erased bytes are kept: from the end of entry 5's frame
			// to the last non-zero byte.
			kept, _ := filepath.Glob(filepath.Join(dir, "log", "torn-6-*"))
			if len(kept) != 1 {
				t.Fatalf("files keeping the torn tail: %v, want one log/torn-6-*", kept)
			}
			got, err := os.ReadFile(kept[0])
			must(t, err)
			want := bytes.TrimRight(before[off:], "\x00")
			if !bytes.Equal(got, want) {
				t.Errorf("%s holds %d bytes, want the %d of the torn tail", kept[0], len(got), len(want))
			}
			if info, err := os.Stat(kept[0]); err != nil || info.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %v, %v; want 0600", kept[0], info.Mode().Perm(), err)
			}
			must(t, w.Append(t.Context(), hostapi.LogEntry{Index: 6, Data: entry(6)}))
			gotLog, err := w.ReadLog(t.Context(), 1, 10)
			var wantLog []hostapi.LogEntry
			for i := uint64(1); i <= 6; i++ {
				wantLog = append(wantLog, hostapi.LogEntry{Index: i, Data: entry(i)})
			}
			if err != nil || !cmp.Equal(gotLog, wantLog) {
				t.Errorf("ReadLog after the repair: got %v, %v; want %v", gotLog, err, wantLog)
			}
		})
	}
}

// TestDamagedLengthErasesNothing is the review's finding: one bit flipped
// in the length of a middle frame of the last segment must not make a
// writable Open take the acknowledged entries after it for a torn append
// and erase them; the frame header's own CRC tells damage from a tear.
func TestDamagedLengthErasesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	s := openStore(t, dir)
	for i := uint64(1); i <= 10; i++ {
		must(t, s.Append(t.Context(), hostapi.LogEntry{Index: i, Data: entry(i)}))
	}
	must(t, s.Close(t.Context()))
	b, err := os.ReadFile(seg1(dir))
	must(t, err)
	at := frameOffset(5) + 12 // entry 5's length: n += 4096
	n := binary.BigEndian.Uint64(b[at : at+8])
	must(t, patch(seg1(dir), at, binary.BigEndian.AppendUint64(nil, n|1<<12)))
	before, err := os.ReadFile(seg1(dir))
	must(t, err)
	for _, readFirst := range []string{"1", ""} {
		t.Setenv(storelayout.ReadFirstEnv, readFirst)
		w := storefile.New(nil)
		err := w.Open(t.Context(), hostapi.StoreConfig{Dir: dir})
		if hostapi.CodeOf(err) != hostapi.CodeCorrupt {
			t.Errorf("Open (read first %q): got %v, want CORRUPT", readFirst, err)
		}
		if err == nil {
			w.Close(t.Context())
		}
	}
	after, err := os.ReadFile(seg1(dir))
	must(t, err)
	if !bytes.Equal(before, after) {
		t.Errorf("Open changed the segment (entries 5..10 zeroed: %v)", allZero(after[frameOffset(5):frameOffset(11)]))
	}
}

// zeroSector returns f, the frame written at offset off of its file, with
// the second whole 512-byte sector it covers zeroed.
func zeroSector(f []byte, off int64) []byte {
	out := bytes.Clone(f)
	s := (off+511)&^511 + 512 - off
	copy(out[s:s+512], make([]byte, 512))
	return out
}

func flip(f []byte, i int) []byte {
	out := bytes.Clone(f)
	out[i] ^= 1
	return out
}

// TestStraddlingHeaderLost is the review's power-loss case: the sector
// holding the second half of the last frame's header (which straddles a
// 512-byte boundary) and the start of its data never reached the disk,
// the rest of the frame and its trailer did. The header's CRC fails, so
// this is a torn append: Open takes the head for entry 1, keeps the bytes
// and zeroes them.
func TestStraddlingHeaderLost(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	s := openStore(t, dir)
	// Segment header 24 + frame(444) 476 = 500: entry 2's frame starts at
	// 500 and its header [500,528) straddles the sector boundary at 512.
	must(t, s.Append(t.Context(), hostapi.LogEntry{Index: 1, Data: bytes.Repeat([]byte{1}, 444)}))
	must(t, s.Append(t.Context(), hostapi.LogEntry{Index: 2, Data: bytes.Repeat([]byte{2}, 1000)}))
	must(t, s.Close(t.Context()))
	must(t, patch(seg1(dir), 512, make([]byte, 512)))
	want, err := os.ReadFile(seg1(dir))
	must(t, err)
	want = bytes.TrimRight(want[500:], "\x00")

	w := storefile.New(nil)
	must(t, w.Open(t.Context(), hostapi.StoreConfig{Dir: dir}))
	defer w.Close(t.Context())
	if h, err := w.Head(t.Context()); err != nil || h != 1 {
		t.Fatalf("Head: got %d, %v; want 1", h, err)
	}
	b, err := os.ReadFile(seg1(dir))
	must(t, err)
	if !allZero(b[500:]) {
		t.Errorf("the torn append was not zeroed")
	}
	kept, _ := filepath.Glob(filepath.Join(dir, "log", "torn-2-*"))
	if len(kept) != 1 {
		t.Fatalf("files keeping the torn tail: %v, want one log/torn-2-*", kept)
	}
	if got, err := os.ReadFile(kept[0]); err != nil || !bytes.Equal(got, want) {
		t.Errorf("%s: %d bytes, %v; want the %d of the torn tail", kept[0], len(got), err, len(want))
	}
	must(t, w.Append(t.Context(), hostapi.LogEntry{Index: 2, Data: entry(2)}))
	if got, err := w.ReadLog(t.Context(), 2, 1); err != nil || !cmp.Equal(got, []hostapi.LogEntry{{Index: 2, Data: entry(2)}}) {
		t.Errorf("ReadLog(2) after the repair: %v, %v", got, err)
	}
}
