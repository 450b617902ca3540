// Package feedtest holds test doubles for feeds (package feed): a server
// that counts what crosses its wire, and a shared HTTP cache of the kind a
// CDN or caching proxy puts in front of a feed. Neither depends on package
// feed: they speak plain HTTP.
package feedtest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
)

// Server is an httptest.Server that counts its requests (conditional ones,
// those answered 304) and the bytes its connections carry both ways.
type Server struct {
	*httptest.Server
	requests, conditional, notModified, bytes atomic.Int64
}

// Counts are what a Server counted since it started or was last Reset.
type Counts struct {
	Requests    int64 // requests answered
	Conditional int64 // of which carried If-None-Match or If-Modified-Since
	NotModified int64 // of which were answered 304
	Bytes       int64 // on the wire, both ways, headers included
}

// NewServer starts a Server of h on a loopback address. The caller closes
// it.
func NewServer(h http.Handler) *Server {
	s := &Server{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if r.Header.Get("If-None-Match") != "" || r.Header.Get("If-Modified-Since") != "" {
			s.conditional.Add(1)
		}
		h.ServeHTTP(&statusWriter{ResponseWriter: w, s: s}, r)
	}))
	s.Listener = countingListener{s.Listener, &s.bytes}
	s.Start()
	return s
}

// Reset sets every count to zero.
func (s *Server) Reset() {
	s.requests.Store(0)
	s.conditional.Store(0)
	s.notModified.Store(0)
	s.bytes.Store(0)
}

// Counts returns the counts. Bytes of a response still being written may
// be missing.
func (s *Server) Counts() Counts {
	return Counts{Requests: s.requests.Load(), Conditional: s.conditional.Load(), NotModified: s.notModified.Load(), Bytes: s.bytes.Load()}
}

// statusWriter counts the 304s a handler answers.
type statusWriter struct {
	http.ResponseWriter
	s *Server
}

func (w *statusWriter) WriteHeader(code int) {
	if code == http.StatusNotModified {
		w.s.notModified.Add(1)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// countingListener counts the bytes its connections read and write.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.n}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.n.Add(int64(n))
	return n, err
}

func (c countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.n.Add(int64(n))
	return n, err
}
