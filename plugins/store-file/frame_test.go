package storefile

import (
	"bytes"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
)

func TestEntryName(t *testing.T) {
	for _, tc := range []struct {
		index uint64
		name  string
	}{
		{1, "00000000000000000001"},
		{1234567890, "00000000001234567890"},
		{^uint64(0), "18446744073709551615"},
	} {
		if got := entryName(tc.index); got != tc.name {
			t.Errorf("entryName(%d): got %q, want %q", tc.index, got, tc.name)
		}
		if got, ok := parseEntryName(tc.name); !ok || got != tc.index {
			t.Errorf("parseEntryName(%q): got %d, %v; want %d, true", tc.name, got, ok, tc.index)
		}
	}
	for _, name := range []string{"", "1", "00000000000000000000", "0000000000000000000x", "000000000000000000001", "99999999999999999999", ".tmp-entry", "+0000000000000000001"} {
		if got, ok := parseEntryName(name); ok {
			t.Errorf("parseEntryName(%q): got %d, true; want false", name, got)
		}
	}
}

// FuzzDecodeFrame checks that no input makes decodeFrame panic, that any
// frame it accepts is one encodeHeader would write, and that a valid frame
// with one flipped bit is always refused.
func FuzzDecodeFrame(f *testing.F) {
	for _, data := range [][]byte{[]byte("x"), []byte("entry data"), bytes.Repeat([]byte{0}, 100)} {
		h := encodeHeader(magicEntry, 7, data)
		f.Add(append(h[:], data...), uint(0))
	}
	f.Fuzz(func(t *testing.T, frame []byte, bit uint) {
		if len(frame) < headerSize {
			return
		}
		index, data, err := decodeFrame("fuzz", magicEntry, frame)
		if err != nil {
			if hostapi.CodeOf(err) != hostapi.CodeCorrupt {
				t.Fatalf("decodeFrame: got %v, want CORRUPT or nil", err)
			}
			return
		}
		h := encodeHeader(magicEntry, index, data)
		if !bytes.Equal(h[:], frame[:headerSize]) {
			t.Fatalf("accepted header %x, want %x", frame[:headerSize], h)
		}
		damaged := bytes.Clone(frame)
		bit %= uint(len(damaged) * 8)
		damaged[bit/8] ^= 1 << (bit % 8)
		if _, _, err := decodeFrame("fuzz", magicEntry, damaged); hostapi.CodeOf(err) != hostapi.CodeCorrupt {
			t.Fatalf("decodeFrame with bit %d flipped: got %v, want CORRUPT", bit, err)
		}
	})
}
