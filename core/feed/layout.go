package feed

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/rustynet/rustynet/core/membership"
)

// The static layout (docs/feed.md): a directory holding HeadFile and, under
// SegmentDir, the segments, each named by the SHA-256 of its bytes.
const (
	// HeadFile is the head's name in the feed's directory.
	HeadFile = "head.json"
	// SegmentDir is the directory of the segments, beside HeadFile.
	SegmentDir = "segments"
	// LegacyFile is the single-file feed's log, in a directory feed.
	LegacyFile = "log.json"

	// Format is the head's "format" value, by which a fetched document is
	// recognised as a head rather than a portable log.
	Format = "rustynet-feed"
	// Version is the layout's version; a head of another is refused.
	Version = 1
)

// Bounds of the layout. Nothing bounds the log as a whole.
const (
	// MaxHeadBytes bounds a head: about 140,000 segments, which at the
	// default size cover 140 million updates.
	MaxHeadBytes = 16 << 20
	// MaxSegmentEntries bounds the entries of one segment.
	MaxSegmentEntries = 1 << 16
	// MaxSegmentBytes bounds one segment's bytes.
	MaxSegmentBytes = 64 << 20
)

// Head is a feed's head file: the newest entry it serves and the segments
// that hold the log up to it. Nothing in it is trusted; a node checks it
// against the entries and every entry against its trusted chain.
type Head struct {
	Format      string `json:"format"`
	Version     int    `json:"version"`
	NetworkID   string `json:"network_id"`
	GenesisRoot string `json:"genesis_root"` // the state root of entry 1
	// Entries is the number of entries, which is the newest entry's epoch.
	Entries uint64 `json:"entries"`
	// StateRoot is the new_state_root of the newest entry.
	StateRoot string `json:"state_root"`
	// Segments hold the log: every epoch from 1 to Entries is in at least
	// one of them. They are sorted by First, and by Count, larger first,
	// between segments of one First.
	Segments []Segment `json:"segments"`
}

// Segment is one segment of the log: a portable log file (a JSON array of
// signed updates) holding the entries of epochs First to First+Count-1,
// Bytes long, stored under SegmentDir as "<SHA256>.json".
type Segment struct {
	First  uint64 `json:"first"`
	Count  uint64 `json:"count"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"` // lower-case hex of the SHA-256 of its bytes
}

// Last returns the epoch of the segment's last entry.
func (s Segment) Last() uint64 { return s.First + s.Count - 1 }

// Path returns the segment's path relative to the feed's directory, with
// forward slashes (a URL path as well as a file path).
func (s Segment) Path() string { return SegmentDir + "/" + s.SHA256 + ".json" }

// IsHead reports whether data is a head rather than a portable log: a JSON
// object whose "format" is Format. It says nothing of the head's validity.
func IsHead(data []byte) bool {
	data = bytes.TrimLeft(data, " \t\r\n")
	if len(data) == 0 || data[0] != '{' {
		return false
	}
	var probe struct {
		Format string `json:"format"`
	}
	return json.Unmarshal(data, &probe) == nil && probe.Format == Format
}

// ParseHead decodes and checks a head: strictly (no unknown field), of
// this Version, every hash well formed, every segment within the bounds
// and the log, in order. That the segments cover the log is checked where
// they are used (Cover).
func ParseHead(data []byte) (*Head, error) {
	if len(data) > MaxHeadBytes {
		return nil, fmt.Errorf("the head is %d bytes, more than a head may be (%d)", len(data), MaxHeadBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var h Head
	if err := dec.Decode(&h); err != nil {
		return nil, fmt.Errorf("the head does not decode: %v", err)
	}
	if dec.More() {
		return nil, errors.New("the head has trailing data")
	}
	if err := h.check(); err != nil {
		return nil, fmt.Errorf("the head is invalid: %w", err)
	}
	return &h, nil
}

func (h *Head) check() error {
	switch {
	case h.Format != Format:
		return fmt.Errorf("format %q, want %q", h.Format, Format)
	case h.Version != Version:
		return fmt.Errorf("layout version %d; this node reads version %d", h.Version, Version)
	case h.NetworkID == "":
		return errors.New("no network_id")
	case h.Entries == 0:
		return errors.New("no entries")
	case len(h.Segments) == 0:
		return errors.New("no segments")
	}
	for name, s := range map[string]string{"genesis_root": h.GenesisRoot, "state_root": h.StateRoot} {
		if _, err := membership.ParseHash(s); err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
	}
	for i, s := range h.Segments {
		switch {
		case s.First == 0 || s.Count == 0 || s.Count > MaxSegmentEntries:
			return fmt.Errorf("segment %d: %d entries from epoch %d (at most %d entries, from epoch 1 on)", i, s.Count, s.First, MaxSegmentEntries)
		case s.Last() > h.Entries || s.Last() < s.First:
			return fmt.Errorf("segment %d ends at epoch %d, past the head's %d", i, s.Last(), h.Entries)
		case s.Bytes < 2 || s.Bytes > MaxSegmentBytes:
			return fmt.Errorf("segment %d: %d bytes (at most %d)", i, s.Bytes, MaxSegmentBytes)
		case !isHexDigest(s.SHA256):
			return fmt.Errorf("segment %d: sha256 %q is not 64 lower-case hex digits", i, s.SHA256)
		}
		if i > 0 {
			p := h.Segments[i-1]
			if p.First > s.First || (p.First == s.First && p.Count <= s.Count) {
				return fmt.Errorf("segment %d is out of order", i)
			}
		}
	}
	return nil
}

// isHexDigest reports whether s is 64 lower-case hex digits.
func isHexDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Encode returns the head as Publish writes it: JSON, one line per field
// and per segment.
func (h *Head) Encode() []byte {
	var b bytes.Buffer
	field := func(name string, v any, last bool) {
		j, _ := json.Marshal(v) // strings and integers: cannot fail
		fmt.Fprintf(&b, " %q: %s", name, j)
		if !last {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("{\n")
	field("format", h.Format, false)
	field("version", h.Version, false)
	field("network_id", h.NetworkID, false)
	field("genesis_root", h.GenesisRoot, false)
	field("entries", h.Entries, false)
	field("state_root", h.StateRoot, false)
	b.WriteString(" \"segments\": [")
	for i, s := range h.Segments {
		if i > 0 {
			b.WriteString(",")
		}
		j, _ := json.Marshal(s)
		b.WriteString("\n  ")
		b.Write(j)
	}
	b.WriteString("\n ]\n}\n")
	return b.Bytes()
}

// Cover returns segments of h holding the epochs from to to, in order,
// each starting at or before the epoch after the one before it. It picks,
// at each epoch still needed, among the segments holding it: the one
// bringing the most needed entries among those whose entries already held
// (before the epoch) are no more than the needed ones they bring, else the
// one with the fewest entries already held. With the layout Publish
// writes, catching up n entries then transfers at most about 2n plus one
// small segment's entries. It fails if some epoch is in no segment.
func (h *Head) Cover(from, to uint64) ([]Segment, error) {
	var out []Segment
	for p := from; p <= to; {
		// Segments holding p start in (p-MaxSegmentEntries, p].
		j := sort.Search(len(h.Segments), func(i int) bool { return h.Segments[i].First > p })
		best, bestWaste, bestUseful, bestFits := -1, uint64(0), uint64(0), false
		for i := j - 1; i >= 0 && h.Segments[i].First+MaxSegmentEntries > p; i-- {
			s := h.Segments[i]
			if s.Last() < p {
				continue
			}
			waste, useful := p-s.First, min(s.Last(), to)-p+1
			fits := waste <= useful
			better := best < 0 ||
				(fits && (!bestFits || useful > bestUseful || (useful == bestUseful && waste < bestWaste))) ||
				(!fits && !bestFits && waste < bestWaste)
			if better {
				best, bestWaste, bestUseful, bestFits = i, waste, useful, fits
			}
		}
		if best < 0 {
			return nil, fmt.Errorf("the head names no segment holding epoch %d", p)
		}
		out = append(out, h.Segments[best])
		p = h.Segments[best].Last() + 1
	}
	return out, nil
}
