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

	"github.com/rustynet/rustynet/core/membership"
)

// TestSingleFileFeed follows a feed of one portable log file, from a
// directory and from a URL: it still works beside the static layout, is
// told apart by its content, and a node at its head costs one conditional
// request.
func TestSingleFileFeed(t *testing.T) {
	net := network(t, 20)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, LegacyFile), membership.EncodeLog(net.Log), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := serveFeed(t, dir, nil)
	for _, loc := range []string{dir, srv.URL + "/" + LegacyFile} {
		t.Run(loc, func(t *testing.T) {
			l := newLedger(t, net, 5)
			src := newSource(t, loc, Options{Client: srv.Client()})
			res, n, err := pull(t, src, l)
			if err != nil || n != 15 || res.Head != 20 {
				t.Fatalf("first pull: %d applied, head %d, %v; want 15 applied, head 20", n, res.Head, err)
			}
			srv.Reset()
			res, n, err = pull(t, src, l)
			if err != nil || n != 0 || !res.NotModified || res.Requests != 1 || res.Bytes != 0 {
				t.Errorf("pull at the head: %+v, %d applied, %v; want one request answered not modified", res, n, err)
			}
			if c := srv.Counts(); strings.HasPrefix(loc, "http") && (c.Conditional != 1 || c.NotModified != 1) {
				t.Errorf("the server saw %+v; want one conditional request answered 304", c)
			}
		})
	}
	for _, bad := range []string{"", filepath.Join(dir, LegacyFile), filepath.Join(dir, "absent")} {
		if _, err := New(bad, Options{}); err == nil {
			t.Errorf("New(%q) succeeded", bad)
		}
	}
	l := newLedger(t, net, 1)
	for _, loc := range []string{srv.URL + "/missing", t.TempDir()} {
		if _, err := newSource(t, loc, Options{Client: srv.Client()}).Pull(context.Background(), l, nil); err == nil {
			t.Errorf("Pull from %s, which serves nothing, succeeded", loc)
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

// pullWithin runs src.Pull and fails the test if it does not return
// within a minute (a held pull); it returns Pull's error.
func pullWithin(t *testing.T, src Source) error {
	t.Helper()
	l := newLedger(t, network(t, 2), 1)
	done := make(chan error, 1)
	go func() { _, err := src.Pull(t.Context(), l, nil); done <- err }()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		t.Fatalf("Pull from %s did not return: the feed is held", src)
		return nil
	}
}

// TestHTTPFeedCannotHoldTheNode serves the ways a feed can hang a request:
// each pull ends, with an error saying why.
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
		{
			name: "serves more than a log may hold",
			opts: Options{StallTimeout: time.Hour, Timeout: time.Hour},
			handler: func(w http.ResponseWriter, r *http.Request, end <-chan struct{}) {
				w.Write([]byte(strings.Repeat(" ", MaxLogBytes+1)))
			},
			want: "more than",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := hostile(t, tt.handler)
			tt.opts.Client = srv.Client()
			src := newSource(t, srv.URL+"/log.json", tt.opts)
			err := pullWithin(t, src)
			if err == nil || errors.Is(err, ErrStalled) != tt.stalled || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), srv.URL) {
				t.Errorf("got %v; want an error naming the source, saying %q, stalled: %v", err, tt.want, tt.stalled)
			}
		})
	}
}

// TestDirFeedReadsOnlyRegularFiles puts things that are not a feed's files
// where the head or the log belongs: each is refused at once instead of
// hanging the pull (a FIFO) or exhausting memory (a device, a huge file).
func TestDirFeedReadsOnlyRegularFiles(t *testing.T) {
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
		for _, name := range []string{LegacyFile, HeadFile} {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				dir := t.TempDir()
				tt.make(t, filepath.Join(dir, name))
				err := pullWithin(t, newSource(t, dir, Options{}))
				if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), name) {
					t.Errorf("got %v; want an error naming %s and saying %q", err, name, tt.want)
				}
			})
		}
	}
}
