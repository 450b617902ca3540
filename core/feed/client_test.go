package feed

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/feed/feedtest"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// Small segments, so that short logs cross many of them.
const (
	testSegment = 64
	testChunk   = 8
)

// TestFollowAStaticFeed publishes a log, catches a node up from genesis
// through a real HTTP server, then follows the feed as it grows: at the
// head one conditional request answered 304 per pull, and catching up n
// updates fetches the head and segments holding about n entries.
func TestFollowAStaticFeed(t *testing.T) {
	net := network(t, 600)
	dir := t.TempDir()
	publish(t, dir, net.Log, testSegment, testChunk)
	srv := serveFeed(t, dir, nil)
	for _, loc := range []string{srv.URL + "/" + HeadFile, srv.URL + "/", dir} {
		t.Run(loc, func(t *testing.T) {
			publish(t, dir, net.Log, testSegment, testChunk)
			l := newLedger(t, net, 1)
			src := newSource(t, loc, Options{Client: srv.Client()})
			var seen []Progress
			res, err := src.Pull(context.Background(), l, func(p Progress) { seen = append(seen, p) })
			if err != nil || res.Extension == nil {
				t.Fatalf("catching up: %+v, %v", res, err)
			}
			if last := seen[len(seen)-1]; len(seen) < 2 || last.Through != uint64(len(net.Log)) || last.Base != 1 || last.Head != uint64(len(net.Log)) {
				t.Errorf("progress %+v; want several reports ending verified through the head", seen)
			}
			if applied, err := res.Extension.Commit(context.Background()); err != nil || len(applied) != len(net.Log)-1 {
				t.Fatalf("commit: %d applied, %v", len(applied), err)
			}
			if st := l.Status(); st.Root != net.Chain.State().Root() {
				t.Fatalf("root %s, want %s", st.Root, net.Chain.State().Root())
			}

			// At the head: one small conditional request per pull.
			for range 3 {
				srv.Reset()
				res, n, err := pull(t, src, l)
				if err != nil || n != 0 || !res.NotModified || res.Requests != 1 || res.Bytes != 0 {
					t.Fatalf("pull at the head: %+v, %d applied, %v; want one request answered not modified", res, n, err)
				}
				if c := srv.Counts(); strings.HasPrefix(loc, "http") && (c.Requests != 1 || c.NotModified != 1 || c.Bytes > 1024) {
					t.Errorf("at the head the server saw %+v; want one request answered 304, under 1 KB on the wire", c)
				}
			}

			// Catching up n updates transfers the head and about n entries.
			entry := int64(len(membership.EncodeLog(net.Log))) / int64(len(net.Log))
			for _, n := range []int{1, 5, 20, 70} {
				grow(t, net, n)
				head := int64(len(publishHead(t, dir, net.Log)))
				res, got, err := pull(t, src, l)
				if err != nil || got != n {
					t.Fatalf("catching up %d: %d applied, %v", n, got, err)
				}
				if max := head + int64(2*n+testChunk)*entry; res.Bytes > max {
					t.Errorf("catching up %d transferred %d bytes, more than the head (%d) and %d entries (%d)", n, res.Bytes, head, 2*n+testChunk, max)
				}
			}
			if st := l.Status(); st.Root != net.Chain.State().Root() {
				t.Errorf("root %s after following, want %s", st.Root, net.Chain.State().Root())
			}
		})
	}
}

// publishHead publishes log into dir as the tests do and returns the
// head's bytes.
func publishHead(tb testing.TB, dir string, log []*membership.SignedUpdate) []byte {
	tb.Helper()
	publish(tb, dir, log, testSegment, testChunk)
	data, err := os.ReadFile(filepath.Join(dir, HeadFile))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// readHeadFile and writeHeadFile read and replace dir's head.
func readHeadFile(tb testing.TB, dir string) *Head {
	tb.Helper()
	h, err := readHead(dir)
	if err != nil || h == nil {
		tb.Fatalf("reading the head: %v", err)
	}
	return h
}

func writeHeadFile(tb testing.TB, dir string, h *Head) {
	tb.Helper()
	if err := os.WriteFile(filepath.Join(dir, HeadFile), h.Encode(), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// TestHostileFeeds serves a feed that lies or breaks in each way it can:
// every pull is refused with a clear error, and the trusted state is
// unchanged.
func TestHostileFeeds(t *testing.T) {
	net := network(t, 300)
	const have = 100 // the node's epoch: inside the second segment
	// A fork of net from epoch 50: valid signatures by an outsider only.
	fork := &membershiptest.Network{Approvers: net.Approvers, Chain: membership.NewChain("test"), Now: net.Now}
	for _, u := range net.Log[:49] {
		fork.MustApply(t, u)
	}
	bad := fork.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node("forked", 900)})
	fork.Sign(t, bad, "mallory")
	forkLog := append(append([]*membership.SignedUpdate(nil), net.Log[:49]...), bad)

	tests := []struct {
		name   string
		feed   func(t *testing.T, dir string) // changes the published feed
		serve  func(http.Handler) http.Handler
		code   membership.Code // the refusal's code, if a verdict on the log
		is     error           // else what the error wraps
		saying string
	}{
		{name: "tampered segment", feed: func(t *testing.T, dir string) {
			h := readHeadFile(t, dir)
			s := h.Segments[len(h.Segments)-1]
			path := filepath.Join(dir, filepath.FromSlash(s.Path()))
			data, _ := os.ReadFile(path)
			data = bytes.Replace(data, []byte(`"add_node"`), []byte(`"add_nodf"`), 1)
			os.WriteFile(path, data, 0o644)
		}, is: ErrCorrupt, saying: "SHA-256"},
		{name: "truncated segment", feed: func(t *testing.T, dir string) {
			h := readHeadFile(t, dir)
			s := h.Segments[len(h.Segments)-1]
			os.Truncate(filepath.Join(dir, filepath.FromSlash(s.Path())), s.Bytes/2)
		}, is: ErrCorrupt, saying: "truncated"},
		{name: "body cut short of its length", serve: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !strings.HasPrefix(r.URL.Path, "/"+SegmentDir) {
					h.ServeHTTP(w, r)
					return
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				body := rec.Body.Bytes()
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				w.Write(body[:len(body)/2])
			})
		}, saying: "unexpected EOF"},
		{name: "segment missing", feed: func(t *testing.T, dir string) {
			h := readHeadFile(t, dir)
			os.Remove(filepath.Join(dir, filepath.FromSlash(h.Segments[len(h.Segments)-1].Path())))
		}, saying: "no such file|404"},
		{name: "head claims entries it has no segment for", feed: func(t *testing.T, dir string) {
			h := readHeadFile(t, dir)
			h.Entries += 5
			writeHeadFile(t, dir, h)
		}, is: ErrCorrupt, saying: "no segment holding epoch"},
		{name: "head names another root than its segments", feed: func(t *testing.T, dir string) {
			h := readHeadFile(t, dir)
			h.StateRoot = net.Log[10].Body.NewStateRoot.String()
			writeHeadFile(t, dir, h)
		}, is: ErrCorrupt, saying: "names state root"},
		{name: "head of another network", feed: func(t *testing.T, dir string) {
			h := readHeadFile(t, dir)
			h.GenesisRoot = net.Log[1].Body.NewStateRoot.String()
			writeHeadFile(t, dir, h)
		}, saying: "not this node's"},
		{name: "head that does not decode", feed: func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, HeadFile), []byte(`{"format": "rustynet-feed", "version": 2}`), 0o644)
		}, is: ErrCorrupt, saying: "version 2"},
		{name: "rollback", feed: func(t *testing.T, dir string) {
			os.RemoveAll(dir)
			publish(t, dir, net.Log[:60], testSegment, testChunk)
		}, code: membership.StaleEpoch, saying: "rollback"},
		{name: "fork before the node's head", feed: func(t *testing.T, dir string) {
			os.RemoveAll(dir)
			publish(t, dir, forkLog, testSegment, testChunk)
		}, code: membership.WrongPrevRoot, saying: "epoch 50 (fork)"},
		{name: "tampered entry", feed: func(t *testing.T, dir string) {
			log := append([]*membership.SignedUpdate(nil), net.Log...)
			u, _ := membership.ParseSignedUpdate(log[200].Encode(), nil)
			u.Signatures[0].Sig[0] ^= 1
			log[200] = u
			os.RemoveAll(dir)
			publish(t, dir, log, testSegment, testChunk)
		}, code: membership.BadSignature, saying: "epoch 201"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			publish(t, dir, net.Log, testSegment, testChunk)
			if tt.feed != nil {
				tt.feed(t, dir)
			}
			srv := serveFeed(t, dir, tt.serve)
			for _, loc := range []string{srv.URL + "/", dir} {
				if tt.serve != nil && loc == dir {
					continue
				}
				l := newLedger(t, net, have)
				before := l.Status()
				_, n, err := pull(t, newSource(t, loc, Options{Client: srv.Client()}), l)
				switch {
				case err == nil:
					t.Fatalf("%s: pull succeeded (%d applied)", loc, n)
				case membership.CodeOf(err) != tt.code:
					t.Errorf("%s: %v; want code %q", loc, err, tt.code)
				case tt.is != nil && !errors.Is(err, tt.is):
					t.Errorf("%s: %v; want it to wrap %v", loc, err, tt.is)
				case !matches(err.Error(), tt.saying):
					t.Errorf("%s: %v; want it to say %q", loc, err, tt.saying)
				}
				sameState(t, l, before)
			}
		})
	}
}

// matches reports whether s holds one of the |-separated words of want.
func matches(s, want string) bool {
	for _, w := range strings.Split(want, "|") {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// TestForkIsLocated serves a log that forks long before the node's head,
// with an update a quorum signed: the pull searches the segments for the
// divergence and makes the ledger forked, as a whole log would.
func TestForkIsLocated(t *testing.T) {
	net := network(t, 300)
	fork := &membershiptest.Network{Approvers: net.Approvers, Chain: membership.NewChain("test"), Now: net.Now}
	for _, u := range net.Log[:99] {
		fork.MustApply(t, u)
	}
	u := fork.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node("forked", 900)})
	fork.MustApply(t, fork.Sign(t, u, "alice", "carol"))
	grow(t, fork, 150)
	dir := t.TempDir()
	publish(t, dir, fork.Log, testSegment, testChunk)
	l := newLedger(t, net, 280)
	_, _, err := pull(t, newSource(t, dir, Options{}), l)
	if membership.CodeOf(err) != membership.Forked {
		t.Fatalf("pull of a quorum-signed fork at epoch 100: %v; want FORKED", err)
	}
	if f := l.Status().Forked; !strings.Contains(f, "extend epoch 99 ") {
		t.Errorf("the ledger's fork: %q; want one of epoch 100", f)
	}
}

// TestMirrors serves the feed from three locations: one that stalls in
// the middle of a segment, one that serves a fork, one that is right. Each
// pull passes over the bad ones, says why, and follows the good one,
// which is tried first from then on.
func TestMirrors(t *testing.T) {
	net := network(t, 400)
	good := t.TempDir()
	publish(t, good, net.Log, testSegment, testChunk)
	forked := t.TempDir()
	fork := &membershiptest.Network{Approvers: net.Approvers, Chain: membership.NewChain("test"), Now: net.Now}
	for _, u := range net.Log[:299] {
		fork.MustApply(t, u)
	}
	bad := fork.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node("forked", 900)})
	publish(t, forked, append(fork.Log, fork.Sign(t, bad, "mallory")), testSegment, testChunk)

	end := make(chan struct{})
	defer close(end)
	stalling := serveFeed(t, good, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasPrefix(r.URL.Path, "/"+SegmentDir) {
				h.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Write(body[:len(body)/2])
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-end:
			}
		})
	})
	forkSrv := serveFeed(t, forked, nil)
	goodSrv := serveFeed(t, good, nil)
	src := newSource(t, stalling.URL+"/", Options{Mirrors: []string{forkSrv.URL + "/", goodSrv.URL + "/"}, StallTimeout: 100 * time.Millisecond})

	l := newLedger(t, net, 350)
	res, n, err := pull(t, src, l)
	if err != nil || n != 50 || res.Source != goodSrv.URL+"/"+HeadFile {
		t.Fatalf("pull: %d applied from %s, %v; want 50 from the good mirror", n, res.Source, err)
	}
	if len(res.Skipped) != 2 || !errors.Is(res.Skipped[0].Err, ErrStalled) || membership.CodeOf(res.Skipped[1].Err) != membership.WrongPrevRoot {
		t.Errorf("skipped %+v; want the stalled mirror, then the fork (WRONG_PREV_ROOT)", res.Skipped)
	}
	goodSrv.Reset()
	res, n, err = pull(t, src, l)
	if err != nil || n != 0 || len(res.Skipped) != 0 || res.Requests != 1 || goodSrv.Counts().Requests != 1 {
		t.Errorf("next pull: %+v, %d applied, %v; want one request, to the good mirror only", res, n, err)
	}
}

// TestPullResumes fails a catch-up part way: the next pull fetches only the
// segments the first did not verify.
func TestPullResumes(t *testing.T) {
	net := network(t, 500)
	dir := t.TempDir()
	publish(t, dir, net.Log, testSegment, testChunk)
	h := readHeadFile(t, dir)
	broken := h.Segments[4].Path() // epochs 257 to 320
	fail := true
	var mu sync.Mutex
	var paths []string // requested, in order
	srv := serveFeed(t, dir, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			mu.Lock()
			paths = append(paths, r.URL.Path)
			failing := fail
			mu.Unlock()
			if failing && r.URL.Path == "/"+broken {
				http.Error(rw, "try later", http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(rw, r)
		})
	})
	l := newLedger(t, net, 1)
	before := l.Status()
	src := newSource(t, srv.URL+"/", Options{Client: srv.Client()})
	if _, _, err := pull(t, src, l); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("pull with a failing segment: %v; want the 503", err)
	}
	sameState(t, l, before)
	mu.Lock()
	fail, paths = false, nil
	mu.Unlock()
	res, n, err := pull(t, src, l)
	if err != nil || n != 499 {
		t.Fatalf("resumed pull: %d applied, %v; want 499", n, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if paths[1] != "/"+broken {
		t.Errorf("the resumed pull fetched %v; want the head, then the failed segment first", paths)
	}
	if res.Requests != len(paths) || res.Requests > 1+len(h.Segments)-4 {
		t.Errorf("resumed pull made %d requests (%v)", res.Requests, paths)
	}
}

// TestPullAheadOfTheFeed: a node ahead of the feed (it caught up from
// peers) reports the feed as a rollback, as it does a shorter single-file
// log, without fetching anything again while neither moves.
func TestPullAheadOfTheFeed(t *testing.T) {
	net := network(t, 200)
	dir := t.TempDir()
	publish(t, dir, net.Log[:150], testSegment, testChunk)
	srv := serveFeed(t, dir, nil)
	l := newLedger(t, net, 200)
	src := newSource(t, srv.URL+"/", Options{Client: srv.Client()})
	for i := range 2 {
		res, _, err := pull(t, src, l)
		if membership.CodeOf(err) != membership.StaleEpoch {
			t.Fatalf("pull %d: %v; want STALE_EPOCH", i, err)
		}
		if i == 1 && (res.Requests != 1 || res.Bytes != 0) {
			t.Errorf("second pull: %+v; want one request answered not modified", res)
		}
	}
}

// TestPlainStaticServer follows a feed served by a plain file server
// (http.FileServer: Last-Modified in whole seconds, no ETag): a head
// replaced within the second it was served in is not missed, and a head
// older than a second is revalidated with If-Modified-Since, answered 304.
func TestPlainStaticServer(t *testing.T) {
	net := network(t, 100)
	dir := t.TempDir()
	publish(t, dir, net.Log, testSegment, testChunk)
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	src := newSource(t, srv.URL+"/", Options{Client: srv.Client()})
	l := newLedger(t, net, 1)
	if _, n, err := pull(t, src, l); err != nil || n != 99 {
		t.Fatalf("first pull: %d applied, %v", n, err)
	}
	for i := range 3 { // each publish within the second the head was served in
		grow(t, net, 1)
		publish(t, dir, net.Log, testSegment, testChunk)
		if _, n, err := pull(t, src, l); err != nil || n != 1 {
			t.Fatalf("pull %d right after a publish: %d applied, %v; want the new entry", i, n, err)
		}
	}
	old := time.Now().Add(-time.Minute)
	if err := os.Chtimes(filepath.Join(dir, HeadFile), old, old); err != nil {
		t.Fatal(err)
	}
	pull(t, src, l) // learns the head's Last-Modified, now old enough to trust
	res, n, err := pull(t, src, l)
	if err != nil || n != 0 || !res.NotModified || res.Requests != 1 || res.Bytes != 0 {
		t.Errorf("pull at the head: %+v, %d applied, %v; want one request answered 304", res, n, err)
	}
}

// TestBehindACache follows a feed through a shared cache (a CDN): what the
// head and segments say about caching lets the cache answer a second node
// catching up, and nodes at the head, without asking the origin.
func TestBehindACache(t *testing.T) {
	net := network(t, 300)
	dir := t.TempDir()
	publish(t, dir, net.Log, testSegment, testChunk)
	origin := serveFeed(t, dir, nil)
	u, _ := url.Parse(origin.URL)
	front := httptest.NewServer(feedtest.NewCache(u, origin.Client()))
	defer front.Close()

	a := newLedger(t, net, 1)
	src := newSource(t, front.URL+"/", Options{Client: front.Client()})
	if _, n, err := pull(t, src, a); err != nil || n != 299 {
		t.Fatalf("first node: %d applied, %v", n, err)
	}
	first := origin.Counts()
	origin.Reset()
	b := newLedger(t, net, 1)
	if _, n, err := pull(t, newSource(t, front.URL+"/", Options{Client: front.Client()}), b); err != nil || n != 299 {
		t.Fatalf("second node: %d applied, %v", n, err)
	}
	for range 3 {
		if res, n, err := pull(t, src, a); err != nil || n != 0 || !res.NotModified {
			t.Fatalf("at the head behind the cache: %+v, %d, %v", res, n, err)
		}
	}
	if c := origin.Counts(); c.Requests != 0 {
		t.Errorf("the origin saw %+v for a second node catching up and three polls at the head (the first node's catch-up: %+v); want nothing", c, first)
	}
}
