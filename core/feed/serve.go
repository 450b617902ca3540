package feed

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rustynet/rustynet/internal/inputfile"
)

// Defaults of Handler and NewServer.
const (
	// DefaultHeadMaxAge is how long a cache may serve a head without
	// asking again: a node behind a cache sees an update at most this much
	// later, and the origin sees at most one request per cache this often.
	DefaultHeadMaxAge = 5 * time.Second
	// DefaultMaxConcurrent bounds the requests served at once; more are
	// answered 503 with Retry-After.
	DefaultMaxConcurrent = 256
)

// Cache-Control values the layout calls for (docs/feed.md).
const (
	// SegmentCacheControl: a segment never changes under its name.
	SegmentCacheControl = "public, max-age=31536000, immutable"
)

// HeadCacheControl is the Cache-Control of a head (and of a single-file
// log) that caches may serve for maxAge; "no-cache" (revalidate every
// time) if maxAge is under a second.
func HeadCacheControl(maxAge time.Duration) string {
	if maxAge < time.Second {
		return "no-cache"
	}
	return fmt.Sprintf("public, max-age=%d", int(maxAge/time.Second))
}

// HandlerOptions configure Handler. Zero values mean the defaults.
type HandlerOptions struct {
	HeadMaxAge    time.Duration // see DefaultHeadMaxAge; negative: "no-cache"
	MaxConcurrent int           // see DefaultMaxConcurrent
}

// Handler serves the feed in dir, read-only: GET and HEAD of HeadFile (or,
// in a single-file feed, LegacyFile) and of the segments, nothing else —
// no listing, no other file, nothing through a path other than those
// names. Responses carry a strong ETag (the segment's SHA-256; a hash of
// the head's bytes) and Last-Modified, answer If-None-Match and
// If-Modified-Since with 304 and Range requests with the range, and say
// how long caches may keep them: segments for ever, the head for
// HeadMaxAge. Every request re-reads the files, so a Publish to dir is
// served as soon as its head is in place.
func Handler(dir string, opts HandlerOptions) http.Handler {
	if opts.HeadMaxAge == 0 {
		opts.HeadMaxAge = DefaultHeadMaxAge
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = DefaultMaxConcurrent
	}
	return &handler{dir: dir, headCC: HeadCacheControl(opts.HeadMaxAge), slots: make(chan struct{}, opts.MaxConcurrent)}
}

type handler struct {
	dir    string
	headCC string
	slots  chan struct{} // one per request being served
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "read-only", http.StatusMethodNotAllowed)
		return
	}
	select {
	case h.slots <- struct{}{}:
		defer func() { <-h.slots }()
	default:
		w.Header().Set("Retry-After", "1")
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	p := r.URL.Path
	switch name, ok := strings.CutPrefix(p, "/"+SegmentDir+"/"); {
	case p == "/"+HeadFile || p == "/"+LegacyFile:
		h.serveDocument(w, r, strings.TrimPrefix(p, "/"))
	case ok && strings.HasSuffix(name, ".json") && isHexDigest(strings.TrimSuffix(name, ".json")):
		h.serveSegment(w, r, name)
	default:
		http.NotFound(w, r)
	}
}

// serveDocument serves the head or the single-file log, read whole (they
// are bounded) so that its ETag is its content's.
func (h *handler) serveDocument(w http.ResponseWriter, r *http.Request, name string) {
	var mod time.Time
	data, err := inputfile.ReadChecked(filepath.Join(h.dir, name), MaxLogBytes, func(fi fs.FileInfo) error {
		mod = fi.ModTime()
		return nil
	})
	if err != nil {
		h.failed(w, r, err)
		return
	}
	sum := sha256.Sum256(data)
	w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:16])+`"`)
	w.Header().Set("Cache-Control", h.headCC)
	w.Header().Set("Content-Type", "application/json")
	http.ServeContent(w, r, name, mod, bytes.NewReader(data))
}

// serveSegment streams a segment from its file.
func (h *handler) serveSegment(w http.ResponseWriter, r *http.Request, name string) {
	path := filepath.Join(h.dir, SegmentDir, name)
	fi, err := os.Lstat(path)
	if err == nil && !fi.Mode().IsRegular() {
		err = inputfile.ErrNotRegular
	}
	var f *os.File
	if err == nil {
		f, err = os.Open(path)
	}
	if err != nil {
		h.failed(w, r, err)
		return
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil || !fi.Mode().IsRegular() {
		h.failed(w, r, inputfile.ErrNotRegular)
		return
	}
	w.Header().Set("ETag", `"`+strings.TrimSuffix(name, ".json")+`"`)
	w.Header().Set("Cache-Control", SegmentCacheControl)
	w.Header().Set("Content-Type", "application/json")
	http.ServeContent(w, r, name, fi.ModTime(), f)
}

// failed answers a request whose file could not be served: 404 if it is
// not there, 500 (saying nothing of the file system) otherwise.
func (h *handler) failed(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, fs.ErrNotExist) {
		http.NotFound(w, r)
		return
	}
	http.Error(w, "unavailable", http.StatusInternalServerError)
}

// Bounds of the server NewServer returns.
const (
	serverReadHeaderTimeout = 10 * time.Second
	serverWriteTimeout      = 5 * time.Minute // a segment of MaxSegmentBytes at about 220 KiB/s
	serverIdleTimeout       = time.Minute
	serverMaxHeaderBytes    = 16 << 10
)

// NewServer returns an http.Server serving Handler(dir, opts) within
// bounds no client can stretch: the request's headers within 10 s, the
// whole response within 5 minutes, idle connections closed after a
// minute, headers of at most 16 KiB, and at most opts.MaxConcurrent
// requests served at once.
func NewServer(dir string, opts HandlerOptions) *http.Server {
	return &http.Server{
		Handler:           Handler(dir, opts),
		ReadHeaderTimeout: serverReadHeaderTimeout,
		ReadTimeout:       serverReadHeaderTimeout,
		WriteTimeout:      serverWriteTimeout,
		IdleTimeout:       serverIdleTimeout,
		MaxHeaderBytes:    serverMaxHeaderBytes,
	}
}
