// Package feed carries a network's signed updates through untrusted
// transport: a node pulls them from a feed (Source), an operator publishes
// a feed as static files (Publish) and serves them (Handler). The layout
// is specified in docs/feed.md.
//
// A feed is a small head file naming the newest entry and the immutable,
// content-addressed segments that hold the log up to it — plain files any
// web server, object store or CDN can serve — or, as before the layout, a
// single portable log file (log.json). A fetched document is told apart
// by its content (IsHead).
//
// A pull is incremental: one conditional request for the document (If-
// None-Match, If-Modified-Since; "not modified" while nothing changed),
// then only the segments holding the entries the node lacks, fetched one
// ahead of verification, each checked against its SHA-256 in the head and
// handed to a ledger.Extension, which verifies every entry against the
// trusted chain as it arrives. Nothing is committed by a pull: the caller
// commits the Extension (under its own locks). Entries verified by a pull
// that failed part way are kept and resumed by the next pull, from any
// location, while the trusted head stays where it was.
//
// Nothing in a feed is trusted. A head that lies — a rollback, a fork, a
// head its own segments contradict — is refused as the ledger refuses a
// whole log (STALE_EPOCH, WRONG_PREV_ROOT or FORKED) or as corrupt
// (ErrCorrupt); a source that stalls is cut (ErrStalled). Several
// locations (mirrors) are tried in turn, starting with the one that served
// the last pull; one that fails or serves a log the node refuses is passed
// over and reported (Result.Skipped).
//
// Bounds: every request has an overall deadline and is cut when no byte
// arrives for a while; a head is at most MaxHeadBytes, a segment at most
// MaxSegmentBytes and exactly as long as its head says, a single-file log
// at most MaxLogBytes. Nothing bounds the log as a whole: a pull holds at
// most three segments' bytes at a time, plus the verified entries, which
// the ledger keeps anyway once they are committed.
package feed

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/rustynet/rustynet/core/ledger"
	"github.com/rustynet/rustynet/core/membership"
)

// MaxLogBytes bounds a single-file feed's log (and any document fetched
// before it is recognised).
const MaxLogBytes = 64 << 20

// Request bounds of an http(s) location.
const (
	// DefaultTimeout bounds one request: a segment of MaxSegmentBytes
	// arrives within it at about 1 MiB/s.
	DefaultTimeout = time.Minute
	// DefaultStallTimeout is how long a request may wait for the next byte.
	DefaultStallTimeout = 15 * time.Second
)

var (
	// ErrStalled is wrapped by the error of a request that was cut because
	// the source stopped sending or sent too slowly.
	ErrStalled = errors.New("stalled")
	// ErrCorrupt is wrapped by the error of a pull that found the feed
	// contradicting itself: a head that does not decode or names no
	// segment for an epoch, a segment whose length or SHA-256 differs from
	// its head's, or one holding other epochs or another newest root than
	// its head says.
	ErrCorrupt = errors.New("corrupt feed")
)

// Source is a feed, at one or more locations.
type Source interface {
	// Pull fetches what l lacks and verifies it against l, committing
	// nothing: the verified entries are in Result.Extension (nil if there
	// are none), for the caller to commit. It returns within the bounds of
	// its requests whatever the far end does, and soon after ctx ends.
	// report, if not nil, is called after each segment with the progress
	// made. Concurrent calls are serialised: one pull at a time.
	Pull(ctx context.Context, l *ledger.Ledger, report func(Progress)) (Result, error)
	// String names the source (its first location) for status and logs.
	String() string
}

// Result is what a pull brought.
type Result struct {
	// Extension holds the verified entries past the trusted head, to be
	// committed by the caller; nil if the feed brought none.
	Extension *ledger.Extension
	// Source is the location that served the pull, Head the newest epoch
	// its head (or log) names, NotModified whether it answered that its
	// document had not changed.
	Source      string
	Head        uint64
	NotModified bool
	// Requests and Bytes count what the pull transferred (response
	// bodies), at every location tried.
	Requests int
	Bytes    int64
	// Skipped are the locations tried before Source and passed over, each
	// with why: a failure, or a log the node refused (a rollback, a fork).
	Skipped []SourceError
}

// SourceError is why one location of a feed was passed over.
type SourceError struct {
	Source string
	Err    error
}

// Progress is how far a pull has come.
type Progress struct {
	Source  string
	Base    uint64 // the trusted epoch the pull extends
	Through uint64 // the newest epoch verified so far
	Head    uint64 // the newest epoch the source names
	Bytes   int64  // transferred so far
}

// Options configure a source. Zero values mean the defaults.
type Options struct {
	// Mirrors are further locations of the same feed, tried in turn after
	// the first.
	Mirrors []string
	// Client makes the http(s) requests; nil means a client of the
	// source's own.
	Client *http.Client
	// Timeout bounds one request, from sending it to the last byte of the
	// response; 0 means DefaultTimeout.
	Timeout time.Duration
	// StallTimeout bounds the wait for the response and then for each
	// further byte of it; 0 means DefaultStallTimeout.
	StallTimeout time.Duration
	// Limits for decoding the log; nil means membership.DefaultLimits.
	Limits *membership.Limits
}

// New returns the source whose first location is loc and further ones
// opts.Mirrors. A location is an http:// or https:// URL — of a head, of a
// single-file log, or ending in "/" for the directory holding HeadFile —
// or a directory holding HeadFile or, without one, LegacyFile.
func New(loc string, opts Options) (Source, error) {
	c := &client{opts: opts}
	for _, l := range append([]string{loc}, opts.Mirrors...) {
		loc, err := newLocation(l, opts)
		if err != nil {
			return nil, err
		}
		c.mirrors = append(c.mirrors, &mirror{loc: loc})
	}
	return c, nil
}
