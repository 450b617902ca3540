package e2e

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/feed/feedtest"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// staticFeedUpdatesEnv sets how many updates TestStaticFeed's network has
// (default 2,000); RUSTYNET_E2E_FEED_UPDATES=100000 is the proof at scale.
const staticFeedUpdatesEnv = "RUSTYNET_E2E_FEED_UPDATES"

// TestStaticFeed has a daemon follow its network through the static feed
// layout alone, served by a plain static file server (Go's
// http.FileServer: Last-Modified, no ETag, nothing of ours) with a mirror
// served by `rustynet feed serve`, both published by `rustynet feed
// publish`. The node has no genesis file — only the genesis root pins its
// network — and takes the genesis and the whole log from the feed, then
// costs one small
// conditional request per poll answered 304, applies a new member it is
// told of only by the feed, and when the static server turns to a
// rollback passes it over, says so, and follows the mirror.
func TestStaticFeed(t *testing.T) {
	t.Parallel()
	updates := 2000
	if s := os.Getenv(staticFeedUpdatesEnv); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 10 {
			t.Fatalf("%s=%q: want a number of updates, at least 10", staticFeedUpdatesEnv, s)
		}
		updates = n
	}
	c := newCluster(t, Options{Members: []string{"n1", "n2"}})
	n1, n2 := c.Node("n1"), c.Node("n2")
	start := time.Now()
	growCluster(c, updates-len(c.Log()))
	t.Logf("network of %d updates made in %s", len(c.Log()), time.Since(start).Round(time.Millisecond))

	primary, mirror := filepath.Join(c.Dir, "feed"), filepath.Join(c.Dir, "mirror")
	publishFeed(t, c, primary, mirror)
	var dir atomic.Pointer[string] // what the static server serves
	dir.Store(&primary)
	static := feedtest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.FileServer(http.Dir(*dir.Load())).ServeHTTP(w, r)
	}))
	t.Cleanup(static.Close)
	mirrorURL := serveFeed(t, mirror)

	// n1 has no genesis file: pinned by the genesis root alone, it takes the
	// genesis and everything after it from the feed.
	n1.Start(NodeConfig{Feed: static.URL + "/", FeedMirrors: []string{mirrorURL}, FeedInterval: 200 * time.Millisecond, NoSync: true, NoGenesisFile: true})
	n2.Start(NodeConfig{NoSync: true})
	start = time.Now()
	st := n1.WaitStatus("the catch-up from the feed", catchUpWithin(updates), func(st controlapi.Status) bool {
		return st.Feed != nil && st.Feed.AppliedThrough == uint64(len(c.Log()))
	})
	t.Logf("n1 caught up %d updates from its genesis in %s", len(c.Log())-1, time.Since(start).Round(time.Millisecond))
	if f := st.Feed; f == nil || f.State != controlapi.FeedOK || f.ServedBy != static.URL+"/head.json" || f.Head != uint64(len(c.Log())) || st.Trust.StateRoot != c.State().Root().String() {
		t.Fatalf("after catching up: feed %+v, root %s; want ok, served by the static server, at root %s", st.Feed, st.Trust.StateRoot, c.State().Root())
	}
	n1.WaitReach(n2, reachWithin)

	// At the head: every poll is one conditional request, answered 304 —
	// once the node holds a validator it may use. The file server's
	// Last-Modified is whole seconds, so the node keeps it only from a
	// response dated a second after the head was written (strongModified):
	// let two polls pass after that second, the later begun after it.
	fi, err := os.Stat(filepath.Join(primary, "head.json"))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(fi.ModTime().Add(time.Second)))
	last := time.Now()
	for range 2 {
		st = n1.WaitStatus("a poll after the head's first second", feedWithin, func(st controlapi.Status) bool { return st.Feed.LastFetch.After(last) })
		last = st.Feed.LastFetch
	}
	static.Reset()
	for polls := 0; polls < 5; {
		st = n1.WaitStatus("the next poll", feedWithin, func(st controlapi.Status) bool { return st.Feed.LastFetch.After(last) })
		last, polls = st.Feed.LastFetch, polls+1
		if f := st.Feed; f.LastRequests != 1 || f.LastBytes != 0 || f.State != controlapi.FeedOK {
			t.Errorf("a poll at the head: %d requests, %d bytes, %s; want one request bringing nothing", f.LastRequests, f.LastBytes, f.State)
		}
	}
	w := static.Counts()
	if w.Requests == 0 || w.NotModified != w.Requests || w.Bytes/w.Requests >= 1024 {
		t.Errorf("at the head the static server saw %+v; want every request answered 304, under 1 KB on the wire", w)
	}
	t.Logf("at the head: %d polls, %d bytes each on the wire", w.Requests, w.Bytes/max(w.Requests, 1))

	// A new member, told only by the feed.
	n3 := c.AddNode("n3")
	u := c.Sign(c.Propose(membership.Operation{Type: membership.OpAddNode, Node: n3.Member()}), "a1", "a2")
	c.Commit(u)
	publishFeed(t, c, primary, mirror)
	st = n1.WaitStatus("the new member", feedWithin, func(st controlapi.Status) bool { return st.Feed.AppliedThrough == u.Body.Epoch })
	if !HasPeer(st, n3) || st.Feed.LastBytes > 64<<10 {
		t.Errorf("after the feed's add of n3: peers %v, the poll brought %d bytes; want n3, and the head and a chunk", PeerIDs(st), st.Feed.LastBytes)
	}

	// The static server turns to a rollback: passed over, the mirror followed.
	older := filepath.Join(c.Dir, "older")
	publishLog(t, c.Log()[:len(c.Log())/2], older)
	dir.Store(&older)
	before := viewOf(n1.Status())
	st = n1.WaitStatus("the rollback refused", feedWithin, func(st controlapi.Status) bool {
		return st.Trust.LastRejected != nil && st.Trust.LastRejected.Code == string(membership.StaleEpoch)
	})
	if diff := cmp.Diff(before, viewOf(st)); diff != "" {
		t.Errorf("the rollback changed the trusted state or peers (-before +after):\n%s", diff)
	}
	u = c.Sign(c.Propose(membership.Operation{Type: membership.OpRevokeNode, NodeID: "n3"}), "a1", "a2")
	c.Commit(u)
	publishFeed(t, c, mirror)
	st = n1.WaitStatus("the revocation through the mirror", feedWithin, func(st controlapi.Status) bool { return st.Feed.AppliedThrough == u.Body.Epoch })
	if HasPeer(st, n3) || st.Feed.ServedBy != mirrorURL+"head.json" || st.Feed.State != controlapi.FeedOK {
		t.Errorf("after the revocation: peers %v, feed %+v; want n3 gone, the mirror serving", PeerIDs(st), st.Feed)
	}
}

// catchUpWithin bounds a daemon's catch-up of n updates from a feed: its
// store appends each (about a millisecond here), and this machine is
// shared.
func catchUpWithin(n int) time.Duration { return feedWithin + time.Duration(n)*10*time.Millisecond }

// growCluster commits n one-member changes to c's chain (add_node,
// update_node, revoke_node, remove_node of a member no daemon runs), signed
// by a1 and a2; no node is told.
func growCluster(c *Cluster, n int) {
	c.tb.Helper()
	for k := range n {
		id, i := ExtraMemberID(k/4%40000), extraBase+k/4%40000
		var op membership.Operation
		switch k % 4 {
		case 0:
			op = membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node(id, i)}
		case 1:
			m := membershiptest.Node(id, i)
			op = membership.Operation{Type: membership.OpUpdateNode, NodeID: id, Addresses: m.Addresses, Endpoints: m.Endpoints, Tags: []string{"router"}, Routes: m.Routes}
		case 2:
			op = membership.Operation{Type: membership.OpRevokeNode, NodeID: id}
		case 3:
			op = membership.Operation{Type: membership.OpRemoveNode, NodeID: id}
		}
		c.Commit(c.Sign(c.Propose(op), "a1", "a2"))
	}
}

// publishFeed publishes c's log into each of dirs with `rustynet feed
// publish`.
func publishFeed(t *testing.T, c *Cluster, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		publishLog(t, c.Log(), d)
	}
}

// publishLog writes log as a portable log file and publishes it into dir.
func publishLog(t *testing.T, log []*membership.SignedUpdate, dir string) {
	t.Helper()
	file := dir + ".log.json"
	if err := os.WriteFile(file, membership.EncodeLog(log), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "feed", "publish", "--from", file, "--out", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("rustynet feed publish into %s: %v\n%s", dir, err, out)
	}
}

// serveFeed runs `rustynet feed serve` on dir until the test ends and
// returns its URL (ending in "/").
func serveFeed(t *testing.T, dir string) string {
	t.Helper()
	cmd := exec.Command(bin, "feed", "serve", "--from", dir, "--listen", "127.0.0.1:0", "--head-max-age", "0s")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	track(cmd.Process.Pid)
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	where := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		where <- regexp.MustCompile(`http://[0-9.:]+/`).FindString(line)
	}()
	select {
	case u := <-where:
		if u == "" {
			t.Fatal("rustynet feed serve did not say where it listens")
		}
		return u
	case <-time.After(feedWithin):
		t.Fatal("rustynet feed serve did not start")
		return ""
	}
}
