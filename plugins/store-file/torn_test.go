package storefile_test

import (
	"bytes"
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
// ignored by a read-first Open, which writes nothing, and zeroed by a
// writable one; anything else there is damage.
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
		{"a whole header", full[:24], true, false},
		{"a prefix of the frame", full[:1000], true, false},
		{"the frame without its trailer", full[:len(full)-4], true, false},
		{"the frame with its trailer half written", full[:len(full)-2], true, false},
		{"the frame with a sector not written", zeroSector(full, off), true, false},
		{"the frame with a damaged byte", flip(full, 600), false, false},
		{"a prefix of the frame of another index", frame(7, big)[:1000], false, true},
		{"garbage after the last frame", []byte{0, 0, 1}, false, true},
		{"the frame, then garbage", append(append([]byte{}, full...), 0, 0, 1), false, true},
		{"a prefix of the frame, garbage after its end", append(append(append([]byte{}, full[:1000]...), make([]byte, len(full)-1000)...), 1), false, true},
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

			t.Setenv(storelayout.ReadFirstEnv, "")
			w := storefile.New(nil)
			err = w.Open(t.Context(), hostapi.StoreConfig{Dir: dir})
			if tc.open {
				if hostapi.CodeOf(err) != hostapi.CodeCorrupt {
					t.Errorf("Open: got %v, want CORRUPT", err)
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
			must(t, w.Append(t.Context(), hostapi.LogEntry{Index: 6, Data: entry(6)}))
			got, err := w.ReadLog(t.Context(), 1, 10)
			var want []hostapi.LogEntry
			for i := uint64(1); i <= 6; i++ {
				want = append(want, hostapi.LogEntry{Index: i, Data: entry(i)})
			}
			if err != nil || !cmp.Equal(got, want) {
				t.Errorf("ReadLog after the repair: got %v, %v; want %v", got, err, want)
			}
		})
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
