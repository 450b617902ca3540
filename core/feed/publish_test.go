package feed

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// segmentFiles lists the files under dir's SegmentDir.
func segmentFiles(tb testing.TB, dir string) map[string]bool {
	tb.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, SegmentDir))
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]bool{}
	for _, e := range entries {
		out[e.Name()] = true
	}
	return out
}

// TestPublishIsIncremental publishes a growing log: each publish writes
// only the segments that are new, names exactly the files it wrote or
// kept, and a republish of the same log writes nothing.
func TestPublishIsIncremental(t *testing.T) {
	net := network(t, 200)
	dir := t.TempDir()
	res := publish(t, dir, net.Log, testSegment, testChunk)
	// 3 full segments (1-192), chunks 129-200: 9.
	if res.Segments != 12 || res.Written != 12 || res.Entries != 200 {
		t.Fatalf("first publish: %+v; want 12 segments written", res)
	}
	if res := publish(t, dir, net.Log, testSegment, testChunk); !res.Unchanged || res.Written != 0 {
		t.Errorf("republish: %+v; want nothing written", res)
	}
	grow(t, net, 3) // 203: the partial chunk 201-203 is new
	res = publish(t, dir, net.Log, testSegment, testChunk)
	if res.Written != 1 || res.Segments != 13 {
		t.Errorf("publish of 3 more: %+v; want 1 segment written", res)
	}
	grow(t, net, 53) // 256: a new full segment 193-256, chunks from 193 on
	res = publish(t, dir, net.Log, testSegment, testChunk)
	h := readHeadFile(t, dir)
	if res.Written != 1+1+6 || len(h.Segments) != 4+8 {
		t.Errorf("publish up to a segment's end: %+v, head segments %v", res, ranges(h.Segments))
	}
	files := segmentFiles(t, dir)
	for _, s := range h.Segments {
		if !files[s.SHA256+".json"] {
			t.Errorf("the head names %s, which is not there", s.Path())
		}
	}
	l := newLedger(t, net, 1)
	if _, n, err := pull(t, newSource(t, dir, Options{}), l); err != nil || n != 255 {
		t.Errorf("pull of the published feed: %d applied, %v", n, err)
	}
}

// TestPublishRefusesToForkOrRollBack: a feed already in the directory
// holding more, or another history, is not overwritten unless forced.
func TestPublishRefusesToForkOrRollBack(t *testing.T) {
	net := network(t, 50)
	other := membershiptest.New(t, 4)
	grow(t, other, 60)
	dir := t.TempDir()
	publish(t, dir, net.Log, testSegment, testChunk)
	tests := []struct {
		name string
		log  []*membership.SignedUpdate
		want string
	}{
		{"shorter", net.Log[:40], "roll the feed back"},
		{"another network", other.Log, "not of this log's"},
	}
	for _, tt := range tests {
		if _, err := Publish(dir, tt.log, PublishOptions{SegmentEntries: testSegment, ChunkEntries: testChunk}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Publish = %v; want an error saying %q", tt.name, err, tt.want)
		}
	}
	if h := readHeadFile(t, dir); h.Entries != 50 {
		t.Fatalf("a refused publish changed the head: %d entries", h.Entries)
	}
	if _, err := Publish(dir, net.Log[:40], PublishOptions{SegmentEntries: testSegment, ChunkEntries: testChunk, Force: true}); err != nil {
		t.Fatalf("forced publish: %v", err)
	}
	if h := readHeadFile(t, dir); h.Entries != 40 {
		t.Errorf("forced publish: head at %d entries, want 40", h.Entries)
	}
	for _, bad := range []PublishOptions{{SegmentEntries: 64, ChunkEntries: 7}, {SegmentEntries: MaxSegmentEntries + 1}} {
		if _, err := Publish(t.TempDir(), net.Log, bad); err == nil {
			t.Errorf("Publish with %+v succeeded", bad)
		}
	}
}

// TestPublishPrunes removes the segments no head names once they are old
// enough, keeping those the previous head named for its readers.
func TestPublishPrunes(t *testing.T) {
	net := network(t, 20)
	dir := t.TempDir()
	now := time.Now()
	opts := PublishOptions{SegmentEntries: testSegment, ChunkEntries: testChunk, Keep: time.Minute, Now: func() time.Time { return now }}
	pub := func() PublishResult {
		res, err := Publish(dir, net.Log, opts)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	pub()
	first := readHeadFile(t, dir)
	partial := first.Segments[len(first.Segments)-1].SHA256 + ".json" // 17-20
	grow(t, net, 1)
	pub() // names 17-21; 17-20 was named by the previous head
	grow(t, net, 1)
	if res := pub(); res.Removed != 0 || !segmentFiles(t, dir)[partial] {
		t.Fatalf("publish within Keep: %+v; want nothing removed", res)
	}
	stale := filepath.Join(dir, SegmentDir, ".x.json.tmp-0123456789abcdef")
	os.WriteFile(stale, []byte("["), 0o644)
	os.WriteFile(filepath.Join(dir, SegmentDir, "notes.txt"), []byte("mine"), 0o644)
	now = now.Add(time.Hour)
	grow(t, net, 1)
	res := pub()
	files := segmentFiles(t, dir)
	if res.Removed != 3 || files[partial] || files[filepath.Base(stale)] || !files["notes.txt"] {
		t.Errorf("publish an hour later: %+v, files %v; want the two old partial chunks and the temporary file removed, nothing else", res, files)
	}
}
