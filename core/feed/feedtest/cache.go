package feedtest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Cache is a shared HTTP cache in front of an origin, as a CDN or caching
// proxy is in front of a feed. It keeps GET responses (200) as long as
// their Cache-Control allows — max-age=N for N seconds; no-cache, or no
// max-age, not at all without revalidation — revalidates a stale one with
// the origin (If-None-Match, If-Modified-Since), answers its clients'
// conditional requests itself, and coalesces concurrent misses of one
// path into one origin request. Other methods and responses pass through
// uncached. It is an http.Handler, safe for concurrent use.
type Cache struct {
	origin *url.URL
	client *http.Client
	now    func() time.Time

	mu      sync.Mutex
	entries map[string]*cached
	flight  map[string]*call

	hits, fetches, revalidations atomic.Int64
}

// cached is one stored response.
type cached struct {
	status  int
	header  http.Header
	body    []byte
	expires time.Time
}

// call is an origin request in flight, which other misses wait for.
type call struct {
	done chan struct{}
	e    *cached
	err  error
}

// CacheCounts are what a Cache did: responses served from a fresh stored
// one (Hits), fetched from the origin (Fetches), and stored ones the
// origin confirmed unchanged (Revalidations).
type CacheCounts struct {
	Hits, Fetches, Revalidations int64
}

// NewCache returns a Cache in front of origin, asking it with client.
func NewCache(origin *url.URL, client *http.Client) *Cache {
	return &Cache{origin: origin, client: client, now: time.Now, entries: map[string]*cached{}, flight: map[string]*call{}}
}

// Counts returns the counts.
func (c *Cache) Counts() CacheCounts {
	return CacheCounts{Hits: c.hits.Load(), Fetches: c.fetches.Load(), Revalidations: c.revalidations.Load()}
}

func (c *Cache) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "the cache passes only GET", http.StatusMethodNotAllowed)
		return
	}
	key := r.URL.Path
	c.mu.Lock()
	e := c.entries[key]
	fresh := e != nil && c.now().Before(e.expires)
	c.mu.Unlock()
	if fresh {
		c.hits.Add(1)
	} else {
		var err error
		if e, err = c.fetch(key, e); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
	}
	for _, k := range []string{"Cache-Control", "Content-Type", "ETag", "Last-Modified"} {
		if v := e.header.Get(k); v != "" {
			w.Header().Set(k, v)
		}
	}
	if e.status == http.StatusOK && notModified(r, e.header) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(e.body)))
	w.WriteHeader(e.status)
	w.Write(e.body)
}

// notModified reports whether r's validators match the stored header.
func notModified(r *http.Request, h http.Header) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		return h.Get("ETag") != "" && inm == h.Get("ETag")
	}
	ims, err := http.ParseTime(r.Header.Get("If-Modified-Since"))
	lm, err2 := http.ParseTime(h.Get("Last-Modified"))
	return err == nil && err2 == nil && !lm.After(ims)
}

// fetch asks the origin for key, revalidating old if there is one; one
// request per key at a time, the others waiting for it.
func (c *Cache) fetch(key string, old *cached) (*cached, error) {
	c.mu.Lock()
	if f, ok := c.flight[key]; ok {
		c.mu.Unlock()
		<-f.done
		return f.e, f.err
	}
	f := &call{done: make(chan struct{})}
	c.flight[key] = f
	c.mu.Unlock()

	f.e, f.err = c.ask(key, old)
	c.mu.Lock()
	delete(c.flight, key)
	if f.err == nil && f.e.status == http.StatusOK {
		c.entries[key] = f.e
	}
	c.mu.Unlock()
	close(f.done)
	return f.e, f.err
}

// ask makes one origin request for key.
func (c *Cache) ask(key string, old *cached) (*cached, error) {
	req, err := http.NewRequest(http.MethodGet, c.origin.ResolveReference(&url.URL{Path: key}).String(), nil)
	if err != nil {
		return nil, err
	}
	if old != nil {
		if v := old.header.Get("ETag"); v != "" {
			req.Header.Set("If-None-Match", v)
		}
		if v := old.header.Get("Last-Modified"); v != "" {
			req.Header.Set("If-Modified-Since", v)
		}
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	if resp.StatusCode == http.StatusNotModified && old != nil {
		c.revalidations.Add(1)
		e := *old
		e.expires = c.now().Add(maxAge(resp.Header, old.header))
		return &e, nil
	}
	c.fetches.Add(1)
	return &cached{status: resp.StatusCode, header: resp.Header.Clone(), body: bytes.Clone(body), expires: c.now().Add(maxAge(resp.Header))}, nil
}

// maxAge is how long the first of hs with a Cache-Control allows a
// response to be served without revalidation: its max-age, or 0.
func maxAge(hs ...http.Header) time.Duration {
	for _, h := range hs {
		cc := h.Get("Cache-Control")
		if cc == "" {
			continue
		}
		for _, d := range strings.Split(cc, ",") {
			d = strings.TrimSpace(d)
			if d == "no-cache" || d == "no-store" {
				return 0
			}
			if v, ok := strings.CutPrefix(d, "max-age="); ok {
				if n, err := strconv.Atoi(v); err == nil && n > 0 {
					return time.Duration(n) * time.Second
				}
			}
		}
		return 0
	}
	return 0
}
