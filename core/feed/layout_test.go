package feed

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeHead is a head of n entries laid out as Publish lays it out, with
// made-up digests.
func fakeHead(n, size, chunk uint64) *Head {
	h := &Head{Format: Format, Version: Version, NetworkID: "test", GenesisRoot: strings.Repeat("a", 64), Entries: n, StateRoot: strings.Repeat("b", 64)}
	for _, r := range layout(n, size, chunk) {
		h.Segments = append(h.Segments, Segment{First: r[0], Count: r[1], Bytes: 100, SHA256: fmt.Sprintf("%064x", r[0]*1000+r[1])})
	}
	return h
}

// ranges returns the epochs segs hold, as "first-last" strings.
func ranges(segs []Segment) []string {
	var out []string
	for _, s := range segs {
		out = append(out, fmt.Sprintf("%d-%d", s.First, s.Last()))
	}
	return out
}

func TestLayout(t *testing.T) {
	tests := []struct {
		n, size, chunk uint64
		want           []string
	}{
		{5, 8, 2, []string{"1-2", "3-4", "5-5"}},
		{8, 8, 2, []string{"1-8", "1-2", "3-4", "5-6", "7-8"}},
		{21, 8, 4, []string{"1-8", "9-16", "9-12", "13-16", "17-20", "21-21"}},
	}
	for _, tt := range tests {
		h := fakeHead(tt.n, tt.size, tt.chunk)
		if diff := cmp.Diff(tt.want, ranges(h.Segments)); diff != "" {
			t.Errorf("layout(%d, %d, %d) (-want +got):\n%s", tt.n, tt.size, tt.chunk, diff)
		}
		if err := h.check(); err != nil {
			t.Errorf("layout(%d, %d, %d) is not a valid head: %v", tt.n, tt.size, tt.chunk, err)
		}
	}
}

// TestCover: whole segments for a node far behind, chunks near the head,
// never more than about twice the entries needed plus a chunk.
func TestCover(t *testing.T) {
	h := fakeHead(1000, 64, 8) // full segments up to 960, chunks from 897
	tests := []struct {
		from, to uint64
		want     []string
	}{
		{2, 200, []string{"1-64", "65-128", "129-192", "193-256"}},
		{990, 1000, []string{"985-992", "993-1000"}},
		{1000, 1000, []string{"993-1000"}},
		{900, 1000, []string{"897-960", "961-968", "969-976", "977-984", "985-992", "993-1000"}},
		{950, 1000, []string{"945-952", "953-960", "961-968", "969-976", "977-984", "985-992", "993-1000"}},
		{890, 1000, []string{"833-896", "897-960", "961-968", "969-976", "977-984", "985-992", "993-1000"}},
		{850, 1000, []string{"833-896", "897-960", "961-968", "969-976", "977-984", "985-992", "993-1000"}},
	}
	for _, tt := range tests {
		got, err := h.Cover(tt.from, tt.to)
		if err != nil {
			t.Fatalf("Cover(%d, %d): %v", tt.from, tt.to, err)
		}
		if diff := cmp.Diff(tt.want, ranges(got)); diff != "" {
			t.Errorf("Cover(%d, %d) (-want +got):\n%s", tt.from, tt.to, diff)
		}
	}
	for from := uint64(1); from <= 1000; from++ {
		got, _ := h.Cover(from, 1000)
		var n uint64
		for _, s := range got {
			n += s.Count
		}
		if need := 1000 - from + 1; n > 2*need+8 {
			t.Errorf("Cover(%d, 1000) takes %d entries for %d", from, n, need)
		}
	}
	gap := fakeHead(100, 64, 8)
	gap.Segments = gap.Segments[:1]
	if _, err := gap.Cover(1, 100); err == nil || !strings.Contains(err.Error(), "epoch 65") {
		t.Errorf("Cover over a gap: %v; want it to name epoch 65", err)
	}
}

func TestParseHead(t *testing.T) {
	good := fakeHead(100, 64, 8)
	if h, err := ParseHead(good.Encode()); err != nil || !cmp.Equal(h, good) {
		t.Fatalf("ParseHead(Encode()) = %+v, %v", h, err)
	}
	if !IsHead(good.Encode()) || IsHead([]byte("[]")) || IsHead([]byte(`{"body": {}}`)) {
		t.Error("IsHead does not tell a head from a log")
	}
	tests := []struct {
		name   string
		change func(h *Head)
		raw    string
		want   string
	}{
		{name: "unknown field", raw: `{"format": "rustynet-feed", "version": 1, "extra": 1}`, want: "unknown field"},
		{name: "trailing data", raw: string(good.Encode()) + "{}", want: "trailing"},
		{name: "other version", change: func(h *Head) { h.Version = 2 }, want: "version 2"},
		{name: "no entries", change: func(h *Head) { h.Entries = 0 }, want: "no entries"},
		{name: "bad root", change: func(h *Head) { h.StateRoot = "xyz" }, want: "state_root"},
		{name: "segment past the head", change: func(h *Head) { h.Entries = 90 }, want: "past the head"},
		{name: "segment out of order", change: func(h *Head) { h.Segments[0], h.Segments[1] = h.Segments[1], h.Segments[0] }, want: "out of order"},
		{name: "bad digest", change: func(h *Head) { h.Segments[0].SHA256 = strings.Repeat("A", 64) }, want: "hex"},
		{name: "path in a digest", change: func(h *Head) { h.Segments[0].SHA256 = "../../etc/passwd" }, want: "hex"},
		{name: "huge segment", change: func(h *Head) { h.Segments[0].Bytes = MaxSegmentBytes + 1 }, want: "bytes"},
		{name: "empty segment", change: func(h *Head) { h.Segments[0].Count = 0 }, want: "entries"},
		{name: "wrapping segment", change: func(h *Head) { h.Segments[0].First = 1 << 63; h.Segments[0].Count = 1 << 16 }, want: "past the head"},
	}
	for _, tt := range tests {
		data := []byte(tt.raw)
		if tt.change != nil {
			h := fakeHead(100, 64, 8)
			tt.change(h)
			data = h.Encode()
		}
		if _, err := ParseHead(data); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: ParseHead = %v; want an error saying %q", tt.name, err, tt.want)
		}
	}
}
