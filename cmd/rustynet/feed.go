package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/rustynet/rustynet/core/feed"
)

// feedCommand is the "feed" group: a network's signed log as a static feed
// (docs/feed.md).
func feedCommand() *command {
	return &command{
		name:    "feed",
		summary: "publish and serve the signed log as a static feed nodes follow",
		help: "A feed is untrusted transport: a small head.json and immutable segments\n" +
			"named by their SHA-256, files any web server, object store or CDN can\n" +
			"serve. Nodes follow it with [membership] feed (docs/feed.md).",
		subs: []*command{feedPublishCommand(), feedServeCommand()},
	}
}

// feedPublishCommand is "feed publish".
func feedPublishCommand() *command {
	return &command{
		name:    "publish",
		args:    "[--from FILE|DIR | --config FILE [--store KIND|--store-plugin PATH] [--high-water FILE] | --socket PATH] [--genesis-root HEX] --out DIR [--segment-size N] [--chunk-size N] [--keep DURATION] [--force]",
		summary: "write or update the static feed of a verified log",
		help: "The log (a portable log FILE, a stopped node's state DIR, or without\n" +
			"--from or --config the running local daemon's) is verified here from its\n" +
			"genesis first. Only the segments the feed in --out lacks are\n" +
			"written, then the head, atomically: a reader sees the old feed or the\n" +
			"new one. Run it after every update; with nothing new it writes nothing.\n" +
			"A feed in --out holding another history, or a longer one, is refused\n" +
			"unless --force. Segments no head names any more are removed once older\n" +
			"than --keep.",
		run: runFeedPublish,
	}
}

// feedServeCommand is "feed serve".
func feedServeCommand() *command {
	return &command{
		name:    "serve",
		args:    "--from DIR --listen ADDR [--head-max-age DURATION] [--max-concurrent N]",
		summary: "serve a feed directory over HTTP, read-only",
		help: "Serves head.json (or a single-file feed's log.json) and the segments,\n" +
			"nothing else, with ETags, 304s, ranges and cache rules: segments for\n" +
			"ever, the head for --head-max-age. Every request re-reads the files, so\n" +
			"a `feed publish` into DIR is served as soon as its head is in place.\n" +
			"Requests and connections are bounded; there is no authentication, since\n" +
			"nothing in a feed is secret or trusted. Stop it with SIGINT or SIGTERM.",
		noJSON: "it serves until stopped and prints only where",
		run:    runFeedServe,
	}
}

// runFeedPublish implements "feed publish".
func runFeedPublish(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet()
	lf := addLogFlags(fs)
	out := fs.String("out", "", "the feed `DIR` to write or update (created if need be)")
	size := fs.Uint64("segment-size", feed.DefaultSegmentEntries, "entries of a full segment (`N`)")
	chunk := fs.Uint64("chunk-size", feed.DefaultChunkEntries, "entries of a chunk (`N`), dividing --segment-size")
	keep := fs.Duration("keep", feed.DefaultKeep, "how long segments no head names stay, for readers of older heads (`DURATION`)")
	force := fs.Bool("force", false, "replace a feed holding another history or a longer one")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	if err := e.require(fs, "out"); err != nil {
		return err
	}
	switch {
	case *size == 0 || *size > feed.MaxSegmentEntries:
		return e.usagef("--segment-size must be 1 to %d", feed.MaxSegmentEntries)
	case *chunk == 0 || *size%*chunk != 0:
		return e.usagef("--chunk-size must divide --segment-size (%d)", *size)
	case *keep <= 0:
		return e.usagef("--keep must be positive")
	}
	t, err := lf.load(ctx, e)
	if err != nil {
		return err
	}
	defer t.close(ctx, true)
	if err := t.requireTrusted("publishing"); err != nil {
		return err
	}
	res, err := feed.Publish(*out, t.entries, feed.PublishOptions{SegmentEntries: *size, ChunkEntries: *chunk, Keep: *keep, Force: *force})
	switch {
	case errors.Is(err, feed.ErrDiverged):
		return usageErrorf("%v", err)
	case err != nil:
		return ioErrorf("%v", err)
	}
	if e.json {
		return e.printJSON(res)
	}
	if res.Unchanged {
		fmt.Fprintf(e.stdout, "%s already holds epoch %d (state root %s): nothing written\n", res.Dir, res.Entries, res.StateRoot)
		return nil
	}
	fmt.Fprintf(e.stdout, "published epoch %d (state root %s) to %s: %d segment(s) in the head, %d written (%d bytes), %d old removed\n",
		res.Entries, res.StateRoot, res.Dir, res.Segments, res.Written, res.WrittenBytes, res.Removed)
	return nil
}

// runFeedServe implements "feed serve".
func runFeedServe(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet()
	from := fs.String("from", "", "the feed `DIR` (as feed publish writes it)")
	listen := fs.String("listen", "", "the TCP address to listen on (`ADDR`, such as :8080 or 127.0.0.1:8080)")
	maxAge := fs.Duration("head-max-age", feed.DefaultHeadMaxAge, "how long caches may serve the head without asking again (`DURATION`; under 1s: revalidate every time)")
	maxConc := fs.Int("max-concurrent", feed.DefaultMaxConcurrent, "requests served at once (`N`); more are answered 503")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	if err := e.require(fs, "from", "listen"); err != nil {
		return err
	}
	if *maxConc <= 0 {
		return e.usagef("--max-concurrent must be positive")
	}
	if err := checkFeedDir(*from); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return usageErrorf("--listen %s: %v", *listen, err)
	}
	age := *maxAge
	if age < time.Second {
		age = -1 // "no-cache"
	}
	srv := feed.NewServer(*from, feed.HandlerOptions{HeadMaxAge: age, MaxConcurrent: *maxConc})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	fmt.Fprintf(e.stdout, "serving the feed in %s on http://%s/ (head.json, segments/); stop with SIGINT or SIGTERM\n", *from, ln.Addr())
	select {
	case err := <-done:
		return ioErrorf("serving the feed: %v", err)
	case <-ctx.Done():
	}
	stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(stop); err != nil {
		srv.Close()
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return ioErrorf("serving the feed: %v", err)
	}
	return nil
}

// checkFeedDir checks that dir holds a feed: its head, or a single-file
// feed's log.
func checkFeedDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return usageErrorf("--from %s: %v", dir, unwrapPath(err))
	}
	if !fi.IsDir() {
		return usageErrorf("--from %s: not a directory", dir)
	}
	for _, name := range []string{feed.HeadFile, feed.LegacyFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil || !errors.Is(err, fs.ErrNotExist) {
			return nil
		}
	}
	return usageErrorf("--from %s holds no %s (nor %s): publish a feed there first (rustynet feed publish --out %s)", dir, feed.HeadFile, feed.LegacyFile, dir)
}
