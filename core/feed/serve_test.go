package feed

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHandler serves a published feed: the head and the segments with
// their cache rules and validators, 304 to a matching conditional request,
// nothing else, and nothing but reads.
func TestHandler(t *testing.T) {
	net := network(t, 30)
	dir := t.TempDir()
	publish(t, dir, net.Log, testSegment, testChunk)
	os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("no"), 0o644)
	h := readHeadFile(t, dir)
	seg := h.Segments[0]
	srv := httptest.NewServer(Handler(dir, HandlerOptions{HeadMaxAge: 7 * time.Second}))
	defer srv.Close()

	get := func(method, path string, header map[string]string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	resp, body := get("GET", "/"+HeadFile, nil)
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || !IsHead([]byte(body)) || resp.Header.Get("Cache-Control") != "public, max-age=7" || etag == "" || resp.Header.Get("Last-Modified") == "" {
		t.Errorf("head: %s %v", resp.Status, resp.Header)
	}
	if resp, body := get("GET", "/"+HeadFile, map[string]string{"If-None-Match": etag}); resp.StatusCode != http.StatusNotModified || body != "" {
		t.Errorf("head with its ETag: %s, %d bytes; want 304", resp.Status, len(body))
	}
	resp, body = get("GET", "/"+seg.Path(), nil)
	if resp.StatusCode != 200 || int64(len(body)) != seg.Bytes || resp.Header.Get("Cache-Control") != SegmentCacheControl || resp.Header.Get("ETag") != `"`+seg.SHA256+`"` {
		t.Errorf("segment: %s %v, %d bytes", resp.Status, resp.Header, len(body))
	}
	if resp, _ := get("GET", "/"+seg.Path(), map[string]string{"If-None-Match": `"` + seg.SHA256 + `"`}); resp.StatusCode != http.StatusNotModified {
		t.Errorf("segment with its ETag: %s; want 304", resp.Status)
	}
	if resp, body := get("GET", "/"+seg.Path(), map[string]string{"Range": "bytes=0-9"}); resp.StatusCode != http.StatusPartialContent || len(body) != 10 {
		t.Errorf("segment range: %s, %d bytes", resp.Status, len(body))
	}
	for _, path := range []string{"/", "/secret.txt", "/segments/", "/segments/" + strings.Repeat("0", 64) + ".json", "/../" + HeadFile, "/segments/../" + HeadFile, "/" + LegacyFile} {
		if resp, _ := get("GET", path, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %s; want 404", path, resp.Status)
		}
	}
	for _, m := range []string{"PUT", "POST", "DELETE"} {
		if resp, _ := get(m, "/"+HeadFile, nil); resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s: %s; want 405", m, resp.Status)
		}
	}
	if resp, body := get("HEAD", "/"+HeadFile, nil); resp.StatusCode != 200 || body != "" {
		t.Errorf("HEAD: %s", resp.Status)
	}
}

// TestHandlerIsBounded: requests beyond MaxConcurrent are turned away at
// once, not queued.
func TestHandlerIsBounded(t *testing.T) {
	dir := t.TempDir()
	publish(t, dir, network(t, 3).Log, testSegment, testChunk)
	h := Handler(dir, HandlerOptions{MaxConcurrent: 1}).(*handler)
	h.slots <- struct{}{} // a request in progress
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/"+HeadFile, nil))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("a request beyond the bound: %d %v; want 503 with Retry-After", rec.Code, rec.Header())
	}
	<-h.slots
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/"+HeadFile, nil))
	if rec.Code != http.StatusOK {
		t.Errorf("once the slot is free: %d", rec.Code)
	}
	if s := NewServer(dir, HandlerOptions{}); s.ReadHeaderTimeout == 0 || s.WriteTimeout == 0 || s.IdleTimeout == 0 || s.MaxHeaderBytes == 0 {
		t.Errorf("NewServer leaves a bound open: %+v", s)
	}
}
