package feed

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSources(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "log.json"), []byte("[]"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			w.Write([]byte(strings.Repeat("x", MaxLogBytes+1)))
			return
		}
		if r.URL.Path != "/log.json" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("[1]"))
	}))
	defer srv.Close()
	tests := []struct {
		loc     string
		want    string
		wantErr bool
	}{
		{dir, "[]", false},
		{srv.URL + "/log.json", "[1]", false},
		{srv.URL + "/missing", "", true},
		{srv.URL + "/big", "", true},
	}
	for _, tt := range tests {
		src, err := New(tt.loc, Options{Client: srv.Client()})
		if err != nil {
			t.Fatalf("New(%q): %v", tt.loc, err)
		}
		got, err := src.Fetch(context.Background())
		if (err != nil) != tt.wantErr || string(got) != tt.want {
			t.Errorf("Fetch(%q) = %q, %v; want %q, error %v", tt.loc, got, err, tt.want, tt.wantErr)
		}
	}
	for _, bad := range []string{"", filepath.Join(dir, "log.json"), filepath.Join(dir, "absent")} {
		if _, err := New(bad, Options{}); err == nil {
			t.Errorf("New(%q) succeeded", bad)
		}
	}
}

// hostile is a feed server that misbehaves as a test asks; its handlers
// give up when the client goes away or the test ends.
func hostile(t *testing.T, h func(w http.ResponseWriter, r *http.Request, end <-chan struct{})) *httptest.Server {
	t.Helper()
	end := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h(w, r, end) }))
	t.Cleanup(func() { close(end); srv.Close() })
	return srv
}

// fetchWithin runs src.Fetch and fails the test if it does not return
// within a minute (a hung fetch); it returns Fetch's error.
func fetchWithin(t *testing.T, src Source) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { _, err := src.Fetch(t.Context()); done <- err }()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		t.Fatalf("Fetch of %s did not return: the feed is held", src)
		return nil
	}
}

// TestHTTPFeedCannotHoldTheNode serves the ways a feed can hang a fetch:
// each fetch ends, with an error saying why.
func TestHTTPFeedCannotHoldTheNode(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		handler func(w http.ResponseWriter, r *http.Request, end <-chan struct{})
		stalled bool   // the error wraps ErrStalled
		want    string // in the error
	}{
		{
			name: "promises a body, sends one byte, then nothing",
			opts: Options{StallTimeout: 50 * time.Millisecond, Timeout: time.Hour},
			handler: func(w http.ResponseWriter, r *http.Request, end <-chan struct{}) {
				w.Header().Set("Content-Length", "1000000")
				w.Write([]byte("["))
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
				case <-end:
				}
			},
			stalled: true, want: "no data for",
		},
		{
			name: "never answers",
			opts: Options{StallTimeout: 50 * time.Millisecond, Timeout: time.Hour},
			handler: func(w http.ResponseWriter, r *http.Request, end <-chan struct{}) {
				select {
				case <-r.Context().Done():
				case <-end:
				}
			},
			stalled: true, want: "no data for",
		},
		{
			name: "trickles a byte at a time",
			opts: Options{StallTimeout: time.Hour, Timeout: 200 * time.Millisecond},
			handler: func(w http.ResponseWriter, r *http.Request, end <-chan struct{}) {
				w.Header().Set("Content-Length", "1000000")
				tick := time.NewTicker(5 * time.Millisecond) // the attacker's pace, not the test's
				defer tick.Stop()
				for {
					select {
					case <-r.Context().Done():
						return
					case <-end:
						return
					case <-tick.C:
						w.Write([]byte(" "))
						w.(http.Flusher).Flush()
					}
				}
			},
			stalled: true, want: "longer than",
		},
		{
			name: "announces more than a log may hold",
			opts: Options{StallTimeout: time.Hour, Timeout: time.Hour},
			handler: func(w http.ResponseWriter, r *http.Request, end <-chan struct{}) {
				w.Header().Set("Content-Length", strconv.Itoa(MaxLogBytes+1))
				w.WriteHeader(http.StatusOK)
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
				case <-end:
				}
			},
			want: "more than",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := hostile(t, tt.handler)
			tt.opts.Client = srv.Client()
			src, err := New(srv.URL+"/log.json", tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			err = fetchWithin(t, src)
			if err == nil || errors.Is(err, ErrStalled) != tt.stalled || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), srv.URL) {
				t.Errorf("got %v; want an error naming the source, saying %q, stalled: %v", err, tt.want, tt.stalled)
			}
		})
	}
}

// TestDirFeedReadsOnlyARegularLog puts things that are not a log file
// where log.json belongs: each is refused at once instead of hanging the
// fetch (a FIFO) or exhausting memory (a device, a huge file).
func TestDirFeedReadsOnlyARegularLog(t *testing.T) {
	tests := []struct {
		name string
		make func(t *testing.T, path string)
		want string
	}{
		{"fifo", mkfifo, "not a regular file"},
		{"device", func(t *testing.T, path string) {
			if err := os.Symlink("/dev/zero", path); err != nil {
				t.Skipf("no /dev/zero to link to: %v", err)
			}
		}, "not a regular file"},
		{"directory", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file"},
		{"larger than a log may be", func(t *testing.T, path string) {
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := f.Truncate(MaxLogBytes + 1); err != nil { // sparse: no disk used
				t.Fatal(err)
			}
		}, "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.make(t, filepath.Join(dir, "log.json"))
			src, err := New(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := fetchWithin(t, src); err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "log.json") {
				t.Errorf("got %v; want an error naming log.json and saying %q", err, tt.want)
			}
		})
	}
}
