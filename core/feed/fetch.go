package feed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rustynet/rustynet/internal/inputfile"
)

// validators are what a conditional request sends back: the ETag and
// Last-Modified of the response it repeats. A directory location makes its
// own from the file's size and modification time.
type validators struct{ etag, modified string }

// counter counts what locations transferred; safe for concurrent use.
type counter struct {
	requests, bytes atomic.Int64
}

// location is one place a feed is served from: a directory or a URL.
type location interface {
	// document fetches the feed's document, a head or a portable log (at
	// most MaxLogBytes); notModified (and no data) if it still matches
	// cond, which is zero for an unconditional fetch.
	document(ctx context.Context, cond validators, c *counter) (data []byte, v validators, notModified bool, err error)
	// segment fetches s's bytes (from the directory of the head last
	// fetched), checked against s: an error wrapping ErrCorrupt if their
	// length or SHA-256 differs.
	segment(ctx context.Context, s Segment, c *counter) ([]byte, error)
	String() string
}

// checkSegment checks data, fetched from src as s, against s.
func checkSegment(src string, s Segment, data []byte) error {
	if int64(len(data)) != s.Bytes {
		return fmt.Errorf("feed: %s: segment %s is %d bytes, the head says %d (truncated or tampered): %w", src, s.SHA256[:12], len(data), s.Bytes, ErrCorrupt)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != s.SHA256 {
		return fmt.Errorf("feed: %s: segment %s does not match its SHA-256 in the head (tampered): %w", src, s.SHA256[:12], ErrCorrupt)
	}
	return nil
}

// dirLocation is a feed directory: HeadFile, or LegacyFile without one.
type dirLocation string

func (d dirLocation) String() string { return string(d) }

func (d dirLocation) document(ctx context.Context, cond validators, c *counter) ([]byte, validators, bool, error) {
	path := filepath.Join(string(d), HeadFile)
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		path = filepath.Join(string(d), LegacyFile)
	}
	var v validators
	errSame := errors.New("not modified")
	c.requests.Add(1)
	data, err := inputfile.ReadChecked(path, MaxLogBytes, func(fi fs.FileInfo) error {
		v.etag = fmt.Sprintf("%s:%d:%d", filepath.Base(path), fi.Size(), fi.ModTime().UnixNano())
		if cond.etag != "" && v.etag == cond.etag {
			return errSame
		}
		return nil
	})
	switch {
	case errors.Is(err, errSame):
		return nil, v, true, nil
	case err != nil:
		return nil, v, false, fmt.Errorf("feed: %w", err)
	}
	c.bytes.Add(int64(len(data)))
	return data, v, false, nil
}

func (d dirLocation) segment(ctx context.Context, s Segment, c *counter) ([]byte, error) {
	c.requests.Add(1)
	data, err := inputfile.Read(filepath.Join(string(d), SegmentDir, s.SHA256+".json"), s.Bytes)
	if errors.Is(err, inputfile.ErrTooLarge) {
		return nil, fmt.Errorf("feed: %s: segment %s is larger than the head says (%d bytes): %w", d, s.SHA256[:12], s.Bytes, ErrCorrupt)
	}
	if err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	c.bytes.Add(int64(len(data)))
	return data, checkSegment(string(d), s, data)
}

// httpLocation is a feed served over http(s): its document at doc, the
// segments beside it.
type httpLocation struct {
	doc            *url.URL
	client         *http.Client
	timeout, stall time.Duration
}

func (h *httpLocation) String() string { return h.doc.String() }

func (h *httpLocation) document(ctx context.Context, cond validators, c *counter) ([]byte, validators, bool, error) {
	return h.get(ctx, h.doc, MaxLogBytes, -1, cond, c)
}

func (h *httpLocation) segment(ctx context.Context, s Segment, c *counter) ([]byte, error) {
	u := h.doc.ResolveReference(&url.URL{Path: s.Path()})
	data, _, _, err := h.get(ctx, u, s.Bytes, s.Bytes, validators{}, c)
	if err != nil {
		return nil, err
	}
	return data, checkSegment(h.String(), s, data)
}

// get fetches u, conditionally on cond, within the location's bounds: an
// overall deadline and a stall timeout, both giving errors wrapping
// ErrStalled, and at most max bytes (exactly want, if want >= 0: a
// response announcing or bringing another length wraps ErrCorrupt).
func (h *httpLocation) get(ctx context.Context, u *url.URL, max, want int64, cond validators, c *counter) ([]byte, validators, bool, error) {
	var v validators
	ctx, cancel := context.WithTimeoutCause(ctx, h.timeout, fmt.Errorf("%w: the request took longer than %s", ErrStalled, h.timeout))
	defer cancel()
	ctx, cut := context.WithCancelCause(ctx)
	defer cut(nil)
	idle := time.AfterFunc(h.stall, func() { cut(fmt.Errorf("%w: no data for %s", ErrStalled, h.stall)) })
	defer idle.Stop()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, v, false, fmt.Errorf("feed: %w", err)
	}
	if cond.etag != "" {
		req.Header.Set("If-None-Match", cond.etag)
	}
	if cond.modified != "" {
		req.Header.Set("If-Modified-Since", cond.modified)
	}
	c.requests.Add(1)
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, v, false, failed(ctx, u, err)
	}
	defer resp.Body.Close()
	idle.Reset(h.stall)
	v = validators{etag: resp.Header.Get("ETag"), modified: strongModified(resp.Header)}
	switch {
	case resp.StatusCode == http.StatusNotModified && (cond.etag != "" || cond.modified != ""):
		return nil, cond, true, nil
	case resp.StatusCode != http.StatusOK:
		return nil, v, false, fmt.Errorf("feed: %s answered %s", u.Redacted(), resp.Status)
	case want >= 0 && resp.ContentLength >= 0 && resp.ContentLength != want:
		return nil, v, false, fmt.Errorf("feed: %s announces %d bytes, the head says %d (truncated or tampered): %w", u.Redacted(), resp.ContentLength, want, ErrCorrupt)
	case resp.ContentLength > max:
		return nil, v, false, fmt.Errorf("feed: %s announces %d bytes, more than it may hold (%d)", u.Redacted(), resp.ContentLength, max)
	}
	body := progress{r: resp.Body, step: func() { idle.Reset(h.stall) }}
	data, err := io.ReadAll(io.LimitReader(body, max+1))
	c.bytes.Add(int64(len(data)))
	if err != nil {
		return nil, v, false, failed(ctx, u, err)
	}
	if int64(len(data)) > max {
		return nil, v, false, fmt.Errorf("feed: %s serves more than it may hold (%d bytes)", u.Redacted(), max)
	}
	return data, v, false, nil
}

// strongModified returns h's Last-Modified if it can tell this version
// from the next: only if it is at least a second before the response's
// Date (RFC 9110, 8.8.2.2). A file replaced within the second it was
// served in keeps its Last-Modified (whole seconds), so If-Modified-Since
// would be answered 304 and the new version missed until the next change.
func strongModified(h http.Header) string {
	lm, err1 := http.ParseTime(h.Get("Last-Modified"))
	date, err2 := http.ParseTime(h.Get("Date"))
	if err1 != nil || err2 != nil || date.Sub(lm) < time.Second {
		return ""
	}
	return h.Get("Last-Modified")
}

// failed explains err, which ended a request for u: a stall if the request
// was cut for one.
func failed(ctx context.Context, u *url.URL, err error) error {
	if cause := context.Cause(ctx); errors.Is(cause, ErrStalled) {
		return fmt.Errorf("feed: %s: %w", u.Redacted(), cause)
	}
	return fmt.Errorf("feed: %s: %w", u.Redacted(), err)
}

// progress calls step whenever a read brings data.
type progress struct {
	r    io.Reader
	step func()
}

func (p progress) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.step()
	}
	return n, err
}

// newLocation returns the location loc names: an http(s) URL (one ending
// in "/" names the directory whose HeadFile is fetched), or a directory.
func newLocation(loc string, opts Options) (location, error) {
	switch {
	case strings.HasPrefix(loc, "http://"), strings.HasPrefix(loc, "https://"):
		u, err := url.Parse(loc)
		if err != nil {
			return nil, fmt.Errorf("feed: %w", err)
		}
		if strings.HasSuffix(u.Path, "/") {
			u = u.ResolveReference(&url.URL{Path: HeadFile})
		}
		h := &httpLocation{doc: u, client: opts.Client, timeout: opts.Timeout, stall: opts.StallTimeout}
		if h.client == nil {
			h.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		}
		if h.timeout <= 0 {
			h.timeout = DefaultTimeout
		}
		if h.stall <= 0 {
			h.stall = DefaultStallTimeout
		}
		return h, nil
	case loc == "":
		return nil, errors.New("feed: empty location")
	}
	fi, err := os.Stat(loc)
	if err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("feed: %s is not a directory or an http(s) URL", loc)
	}
	return dirLocation(loc), nil
}
