package feed

import (
	"runtime"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/membership"
)

// TestHundredThousandUpdates publishes a log of 100,000 updates and
// follows it through a real HTTP server: a fresh node catches up from its
// genesis transferring about the log's size, a node at the head costs one
// conditional request of under 1 KB on the wire, and ten more updates
// cost the head and a chunk.
func TestHundredThousandUpdates(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("generating and verifying 100,000 updates takes minutes (skipped with -short and -race)")
	}
	const updates = 100_000
	start := time.Now()
	net := network(t, updates)
	logBytes := int64(len(membership.EncodeLog(net.Log)))
	t.Logf("generated %d updates (%d bytes as one log) in %s", updates, logBytes, time.Since(start).Round(time.Millisecond))

	dir := t.TempDir()
	start = time.Now()
	pub, err := Publish(dir, net.Log, PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("published %d segments in %s", pub.Segments, time.Since(start).Round(time.Millisecond))
	srv := serveFeed(t, dir, nil)
	src := newSource(t, srv.URL+"/", Options{Client: srv.Client()})

	l := newLedger(t, net, 1)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.HeapAlloc
	start = time.Now()
	res, n, err := pull(t, src, l)
	if err != nil || n != updates-1 {
		t.Fatalf("catching up from genesis: %d applied, %v", n, err)
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	t.Logf("caught up %d updates in %s: %d requests, %d bytes (the log: %d); %d MB more heap kept", n, time.Since(start).Round(time.Millisecond),
		res.Requests, res.Bytes, logBytes, (int64(ms.HeapAlloc)-int64(before))>>20)
	if res.Bytes > logBytes+logBytes/10 {
		t.Errorf("catching up transferred %d bytes for a log of %d", res.Bytes, logBytes)
	}
	if st := l.Status(); st.Head != updates || st.Root != net.Chain.State().Root() {
		t.Fatalf("after catching up: %+v; want the network's head", st)
	}

	srv.Reset()
	if res, n, err := pull(t, src, l); err != nil || n != 0 || !res.NotModified {
		t.Fatalf("pull at the head: %+v, %d, %v", res, n, err)
	}
	if c := srv.Counts(); c.Requests != 1 || c.NotModified != 1 || c.Bytes >= 1024 {
		t.Errorf("at the head: %+v; want one request answered 304, under 1 KB on the wire", c)
	}
	t.Logf("at the head: 1 request, %d bytes on the wire", srv.Counts().Bytes)

	grow(t, net, 10)
	pub, err = Publish(dir, net.Log, PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv.Reset()
	res, n, err = pull(t, src, l)
	if err != nil || n != 10 {
		t.Fatalf("10 more: %d applied, %v", n, err)
	}
	entry := logBytes / updates
	head := int64(len(readHeadFile(t, dir).Encode()))
	if res.Bytes > head+(2*10+DefaultChunkEntries)*entry {
		t.Errorf("10 more updates cost %d bytes; want at most the head (%d) and %d entries", res.Bytes, head, 2*10+DefaultChunkEntries)
	}
	t.Logf("10 more updates: %d requests, %d bytes (head %d bytes), %d on the wire", res.Requests, res.Bytes, head, srv.Counts().Bytes)
}
