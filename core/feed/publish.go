package feed

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/internal/atomicfile"
	"github.com/rustynet/rustynet/internal/inputfile"
)

// Defaults of Publish.
const (
	// DefaultSegmentEntries is the entries of a full segment: about 1 MiB
	// of three-signature updates.
	DefaultSegmentEntries = 1024
	// DefaultChunkEntries is the entries of a chunk, the small segments
	// that cover the newest full segment and the tail: a node following
	// the feed fetches at most this many entries it already has.
	DefaultChunkEntries = 32
	// DefaultKeep is how long a segment no longer named by the head stays,
	// for readers still holding an older head.
	DefaultKeep = 10 * time.Minute
)

// ErrDiverged is wrapped by Publish's refusal to replace a feed holding
// another history, or more of it, than the log to publish.
var ErrDiverged = errors.New("the feed holds another history or a longer one")

// PublishOptions configure Publish. Zero values mean the defaults.
type PublishOptions struct {
	// SegmentEntries is the entries of a full segment, ChunkEntries those
	// of a chunk; ChunkEntries must divide SegmentEntries.
	SegmentEntries uint64
	ChunkEntries   uint64
	// Keep is how long segment files the new head does not name (nor the
	// head it replaces) stay before Publish removes them.
	Keep time.Duration
	// Force publishes over a feed holding another history (a fork of
	// log) or a longer one (publishing log would roll the feed back).
	Force bool
	// Now is the clock for Keep; nil means time.Now.
	Now func() time.Time
}

// PublishResult says what Publish did.
type PublishResult struct {
	Dir       string `json:"dir"`
	Entries   uint64 `json:"entries"`
	StateRoot string `json:"state_root"`
	Segments  int    `json:"segments"` // named by the head
	// Written counts the segment files written, WrittenBytes their bytes;
	// Removed the unnamed segment (and stale temporary) files removed.
	Written      int   `json:"written"`
	WrittenBytes int64 `json:"written_bytes"`
	Removed      int   `json:"removed"`
	// Unchanged is true if the feed already was this one (nothing written).
	Unchanged bool `json:"unchanged"`
}

// Publish writes log — a verified log from genesis, which it does not
// verify again — as the static feed in dir (created if need be), or
// updates the feed there: it writes the segments the feed lacks, each
// complete and synced under its final name before the head names it, then
// the head, atomically, so a reader sees the old feed or the new one,
// never a mixture. Full segments hold SegmentEntries entries each; chunks
// of ChunkEntries cover the newest full segment and the rest of the log
// (the last chunk partial). A feed already in dir must hold a prefix of
// log's history (the same state root at its head), unless opts.Force:
// else Publish fails with an error wrapping ErrDiverged.
func Publish(dir string, log []*membership.SignedUpdate, opts PublishOptions) (PublishResult, error) {
	res := PublishResult{Dir: dir}
	if opts.SegmentEntries == 0 {
		opts.SegmentEntries = DefaultSegmentEntries
	}
	if opts.ChunkEntries == 0 {
		opts.ChunkEntries = min(DefaultChunkEntries, opts.SegmentEntries)
	}
	if opts.Keep == 0 {
		opts.Keep = DefaultKeep
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	switch {
	case len(log) == 0:
		return res, errors.New("feed: nothing to publish: the log is empty")
	case opts.SegmentEntries > MaxSegmentEntries:
		return res, fmt.Errorf("feed: segments of %d entries: at most %d", opts.SegmentEntries, MaxSegmentEntries)
	case opts.SegmentEntries%opts.ChunkEntries != 0:
		return res, fmt.Errorf("feed: chunks of %d entries do not divide segments of %d", opts.ChunkEntries, opts.SegmentEntries)
	}
	if err := os.MkdirAll(filepath.Join(dir, SegmentDir), 0o755); err != nil {
		return res, fmt.Errorf("feed: %w", err)
	}
	old, err := readHead(dir)
	if err != nil && !opts.Force {
		return res, fmt.Errorf("feed: %s holds a head that does not read (%v); publish with force to replace it", dir, err)
	}
	if old != nil && !opts.Force {
		if err := checkPrefix(old, log); err != nil {
			return res, fmt.Errorf("feed: %s: %v; publish with force to replace it: %w", dir, err, ErrDiverged)
		}
	}
	d, err := atomicfile.OpenDir(dir)
	if err != nil {
		return res, fmt.Errorf("feed: %w", err)
	}
	defer d.Close()
	sd, err := d.OpenDir(SegmentDir)
	if err != nil {
		return res, fmt.Errorf("feed: %w", err)
	}
	defer sd.Close()

	last := log[len(log)-1].Body
	h := &Head{Format: Format, Version: Version, NetworkID: last.NetworkID, GenesisRoot: log[0].Body.NewStateRoot.String(),
		Entries: uint64(len(log)), StateRoot: last.NewStateRoot.String()}
	known := map[[2]uint64]Segment{} // (first, count) → a segment the old head names
	if old != nil && !opts.Force {
		for _, s := range old.Segments {
			known[[2]uint64{s.First, s.Count}] = s
		}
	}
	for _, r := range layout(uint64(len(log)), opts.SegmentEntries, opts.ChunkEntries) {
		// A segment the old head names holds the same history (checkPrefix).
		if s, ok := known[r]; ok && present(sd, s) {
			h.Segments = append(h.Segments, s)
			continue
		}
		data := membership.EncodeLog(log[r[0]-1 : r[0]-1+r[1]])
		if len(data) > MaxSegmentBytes {
			return res, fmt.Errorf("feed: the segment of epochs %d to %d is %d bytes, more than a segment may be (%d): publish smaller segments", r[0], r[0]+r[1]-1, len(data), MaxSegmentBytes)
		}
		sum := sha256.Sum256(data)
		s := Segment{First: r[0], Count: r[1], Bytes: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
		if !present(sd, s) {
			name := s.SHA256 + ".json"
			if err := sd.Remove(name); err != nil { // a damaged file under the name
				return res, fmt.Errorf("feed: %w", err)
			}
			if err := sd.Create(name, data, 0o644); err != nil {
				return res, fmt.Errorf("feed: writing a segment: %w", err)
			}
			res.Written++
			res.WrittenBytes += int64(len(data))
		}
		h.Segments = append(h.Segments, s)
	}
	res.Entries, res.StateRoot, res.Segments = h.Entries, h.StateRoot, len(h.Segments)
	data := h.Encode()
	if cur, err := inputfile.Read(filepath.Join(dir, HeadFile), MaxHeadBytes); err == nil && string(cur) == string(data) {
		res.Unchanged = res.Written == 0
	} else if err := d.WriteFile(HeadFile, data, 0o644); err != nil {
		return res, fmt.Errorf("feed: writing the head: %w", err)
	}
	res.Removed, err = prune(sd, opts.Now().Add(-opts.Keep), h, old)
	return res, err
}

// layout returns the (first, count) of the segments of a log of n entries:
// the full segments of size entries, then chunks of chunk entries from the
// newest full segment (or the first entry) to the last, sorted as a head
// lists them.
func layout(n, size, chunk uint64) [][2]uint64 {
	var out [][2]uint64
	full := n / size
	for k := range full {
		out = append(out, [2]uint64{k*size + 1, size})
	}
	start := uint64(1)
	if full > 0 {
		start = (full-1)*size + 1
	}
	for first := start; first <= n; first += chunk {
		out = append(out, [2]uint64{first, min(chunk, n-first+1)})
	}
	sort.SliceStable(out, func(i, j int) bool {
		return out[i][0] < out[j][0] || (out[i][0] == out[j][0] && out[i][1] > out[j][1])
	})
	return out
}

// present reports whether sd holds s as a regular file of s's size.
func present(sd *atomicfile.Dir, s Segment) bool {
	f, err := sd.Open(s.SHA256 + ".json")
	if err != nil {
		return false
	}
	defer f.Close()
	fi, err := f.Stat()
	return err == nil && fi.Mode().IsRegular() && fi.Size() == s.Bytes
}

// readHead reads the head in dir; nil, nil if there is none.
func readHead(dir string) (*Head, error) {
	data, err := inputfile.Read(filepath.Join(dir, HeadFile), MaxHeadBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseHead(data)
}

// checkPrefix checks that the feed of head old holds a prefix of log's
// history.
func checkPrefix(old *Head, log []*membership.SignedUpdate) error {
	switch {
	case old.NetworkID != log[0].Body.NetworkID || old.GenesisRoot != log[0].Body.NewStateRoot.String():
		return fmt.Errorf("the feed there is of network %q, genesis root %s, not of this log's %q, %s", old.NetworkID, old.GenesisRoot, log[0].Body.NetworkID, log[0].Body.NewStateRoot)
	case old.Entries > uint64(len(log)):
		return fmt.Errorf("the feed there holds %d entries, this log only %d: publishing it would roll the feed back", old.Entries, len(log))
	case log[old.Entries-1].Body.NewStateRoot.String() != old.StateRoot:
		return fmt.Errorf("the feed there holds another history (state root %s at epoch %d, this log's is %s): publishing it would fork the feed", old.StateRoot, old.Entries, log[old.Entries-1].Body.NewStateRoot)
	}
	return nil
}

// prune removes from sd the segment files neither h nor old names, and the
// temporary files a crashed Publish left, last modified before cutoff. It
// returns how many it removed.
func prune(sd *atomicfile.Dir, cutoff time.Time, h, old *Head) (int, error) {
	named := map[string]bool{}
	for _, hd := range []*Head{h, old} {
		if hd != nil {
			for _, s := range hd.Segments {
				named[s.SHA256+".json"] = true
			}
		}
	}
	entries, err := sd.ReadDir()
	if err != nil {
		return 0, fmt.Errorf("feed: %w", err)
	}
	removed := 0
	for _, e := range entries {
		name := e.Name()
		segment := strings.HasSuffix(name, ".json") && isHexDigest(strings.TrimSuffix(name, ".json"))
		if named[name] || !(segment || atomicfile.IsTemp(name)) {
			continue
		}
		if fi, err := e.Info(); err != nil || !fi.ModTime().Before(cutoff) {
			continue
		}
		if err := sd.Remove(name); err != nil {
			return removed, fmt.Errorf("feed: %w", err)
		}
		removed++
	}
	return removed, nil
}
