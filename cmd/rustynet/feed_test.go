package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/feed"
	"github.com/rustynet/rustynet/internal/lockedbuf"
	"github.com/rustynet/rustynet/internal/poll"
)

// TestFeedPublish publishes the test network's log, republishes it
// (nothing written), publishes a longer one, and refuses to publish a
// shorter one over it without --force.
func TestFeedPublish(t *testing.T) {
	n := newNet(t)
	r := mustRun(t, "feed", "publish", "--from", "log.json", "--out", "feed")
	if !strings.Contains(r.stdout, "published epoch 1 ") {
		t.Errorf("stdout %q; want it to say what was published", r.stdout)
	}
	if _, err := os.Stat(filepath.Join("feed", feed.HeadFile)); err != nil {
		t.Fatal(err)
	}
	if r := mustRun(t, "feed", "publish", "--from", "log.json", "--out", "feed"); !strings.Contains(r.stdout, "nothing written") {
		t.Errorf("republish: stdout %q; want nothing written", r.stdout)
	}
	mustRun(t, "membership", "export", "--from", "log.json", "--out", "genesis-only.json")
	n.addNode(t, "alice", "bob")
	mustRun(t, applyAdd...)
	var res feed.PublishResult
	r = mustRun(t, "--json", "feed", "publish", "--from", "log.json", "--out", "feed")
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res.Entries != 2 || res.Written != 1 {
		t.Errorf("publish of epoch 2: %+v, %v; want 2 entries, one segment written", res, err)
	}
	r = runCLI(t, "feed", "publish", "--from", "genesis-only.json", "--out", "feed")
	if r.exit != exitUsage || !strings.Contains(r.stderr, "roll the feed back") {
		t.Errorf("publishing a shorter log: exit %d, stderr %q; want a usage error saying it would roll the feed back", r.exit, r.stderr)
	}
	mustRun(t, "feed", "publish", "--from", "genesis-only.json", "--out", "feed", "--force")

	for _, args := range [][]string{
		{"feed", "publish", "--from", "log.json"},
		{"feed", "publish", "--from", "log.json", "--out", "f", "--chunk-size", "7"},
		{"feed", "publish", "--from", "log.json", "--out", "f", "--segment-size", "0"},
		{"feed", "publish", "--from", "missing.json", "--out", "f"},
		{"feed", "serve", "--from", "feed"},
		{"feed", "serve", "--from", "feed/segments", "--listen", "127.0.0.1:0"},
		{"feed", "serve", "--from", "feed", "--listen", "256.0.0.1:1"},
	} {
		if r := runCLI(t, args...); r.exit != exitUsage {
			t.Errorf("rustynet %s: exit %d, want %d\n%s", strings.Join(args, " "), r.exit, exitUsage, r.stderr)
		}
	}
}

// TestFeedServe serves a published feed until the command is stopped:
// the head and its segments with their cache rules, conditional requests
// answered 304, nothing else.
func TestFeedServe(t *testing.T) {
	newNet(t)
	mustRun(t, "feed", "publish", "--from", "log.json", "--out", "feed")
	ctx, stop := context.WithCancel(context.Background())
	var stdout, stderr lockedbuf.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"feed", "serve", "--from", "feed", "--listen", "127.0.0.1:0", "--head-max-age", "2s"}, strings.NewReader(""), &stdout, &stderr)
	}()
	addr := regexp.MustCompile(`http://[0-9.:]+/`)
	if err := poll.Until(30*time.Second, 10*time.Millisecond, func() bool { return addr.MatchString(stdout.String()) }); err != nil {
		stop()
		t.Fatalf("feed serve never said where it listens: %v\nstdout %q\nstderr %q", err, stdout.String(), stderr.String())
	}
	base := addr.FindString(stdout.String())
	get := func(path, etag string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	resp, body := get(feed.HeadFile, "")
	h, err := feed.ParseHead(body)
	if resp.StatusCode != 200 || err != nil || resp.Header.Get("Cache-Control") != "public, max-age=2" {
		t.Fatalf("head: %s %v, %v", resp.Status, resp.Header, err)
	}
	if resp, _ := get(feed.HeadFile, resp.Header.Get("ETag")); resp.StatusCode != http.StatusNotModified {
		t.Errorf("head with its ETag: %s, want 304", resp.Status)
	}
	if resp, body := get(h.Segments[0].Path(), ""); resp.StatusCode != 200 || int64(len(body)) != h.Segments[0].Bytes {
		t.Errorf("segment: %s, %d bytes", resp.Status, len(body))
	}
	if resp, _ := get("log.json", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a file beside the feed: %s, want 404", resp.Status)
	}
	stop()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("feed serve exited %d after SIGINT, want 0\n%s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("feed serve did not stop")
	}
}
