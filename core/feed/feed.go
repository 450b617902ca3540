// Package feed fetches a network's portable signed log from an untrusted
// source: a directory (its log.json) or an http(s) URL. It only transports
// bytes; the ledger verifies every entry and refuses forks and rollbacks.
//
// An untrusted source must not be able to hold a node: every HTTP fetch
// has an overall deadline and is cut when no byte arrives for a while
// (both give errors wrapping ErrStalled), a log announced or found to be
// larger than MaxLogBytes is refused, and a directory's log.json is read
// only if it is a regular file of at most MaxLogBytes.
package feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rustynet/rustynet/internal/inputfile"
)

// MaxLogBytes bounds what one fetch may return.
const MaxLogBytes = 64 << 20

// Fetch bounds of an http(s) source.
const (
	// DefaultTimeout bounds a whole fetch: 64 MiB arrive within it at
	// about 1 MiB/s.
	DefaultTimeout = time.Minute
	// DefaultStallTimeout is how long a fetch may wait for the next byte.
	DefaultStallTimeout = 15 * time.Second
)

// ErrStalled is wrapped by the error of a fetch that was cut because the
// source stopped sending or sent too slowly.
var ErrStalled = errors.New("stalled")

// Source fetches the current log.
type Source interface {
	// Fetch returns the log's bytes (a portable log file). It returns
	// within the source's bounds whatever the far end does, and at once
	// when ctx is done.
	Fetch(ctx context.Context) ([]byte, error)
	// String names the source for status and logs.
	String() string
}

// Options configure an http(s) source; a directory source ignores them.
// Zero values mean the defaults.
type Options struct {
	// Client makes the requests; nil means a client of the source's own.
	Client *http.Client
	// Timeout bounds a whole fetch, from the request to the last byte of
	// the log; 0 means DefaultTimeout.
	Timeout time.Duration
	// StallTimeout bounds the wait for the response and then for each
	// further byte of it; 0 means DefaultStallTimeout.
	StallTimeout time.Duration
}

// New returns the source for loc: an http:// or https:// URL, or a
// directory path whose log.json is read.
func New(loc string, opts Options) (Source, error) {
	switch {
	case strings.HasPrefix(loc, "http://"), strings.HasPrefix(loc, "https://"):
		h := &httpSource{url: loc, client: opts.Client, timeout: opts.Timeout, stall: opts.StallTimeout}
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
	return dirSource(loc), nil
}

type dirSource string

func (d dirSource) String() string { return string(d) }

func (d dirSource) Fetch(ctx context.Context) ([]byte, error) {
	data, err := inputfile.Read(filepath.Join(string(d), "log.json"), MaxLogBytes)
	if err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	return data, nil
}

type httpSource struct {
	url            string
	client         *http.Client
	timeout, stall time.Duration
}

func (h *httpSource) String() string { return h.url }

func (h *httpSource) Fetch(ctx context.Context) ([]byte, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, h.timeout, fmt.Errorf("%w: the fetch took longer than %s", ErrStalled, h.timeout))
	defer cancel()
	ctx, cut := context.WithCancelCause(ctx)
	defer cut(nil)
	idle := time.AfterFunc(h.stall, func() { cut(fmt.Errorf("%w: no data for %s", ErrStalled, h.stall)) })
	defer idle.Stop()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.url, nil)
	if err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, h.failed(ctx, err)
	}
	defer resp.Body.Close()
	idle.Reset(h.stall)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("feed: %s answered %s", h.url, resp.Status)
	}
	if resp.ContentLength > MaxLogBytes {
		return nil, fmt.Errorf("feed: %s announces %d bytes, more than a log may hold (%d)", h.url, resp.ContentLength, MaxLogBytes)
	}
	body := progress{r: resp.Body, step: func() { idle.Reset(h.stall) }}
	data, err := io.ReadAll(io.LimitReader(body, MaxLogBytes+1))
	if err != nil {
		return nil, h.failed(ctx, err)
	}
	if len(data) > MaxLogBytes {
		return nil, fmt.Errorf("feed: %s serves more than a log may hold (%d bytes)", h.url, MaxLogBytes)
	}
	return data, nil
}

// failed explains err, which ended a fetch: a stall if the fetch was cut
// for one.
func (h *httpSource) failed(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); errors.Is(cause, ErrStalled) {
		return fmt.Errorf("feed: %s: %w", h.url, cause)
	}
	return fmt.Errorf("feed: %s: %w", h.url, err)
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
