package gossip

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"

	"golang.org/x/time/rate"

	"github.com/rustynet/rustynet/core/membership"
)

// Source is what a node serves: its trusted head, its log and the
// evidence it holds. Implementations are safe for concurrent use and
// answer without waiting on data-plane work.
type Source interface {
	// Head is the node's head; ok is false before genesis or while the
	// node has nothing trustworthy to serve (restricted-safe mode).
	Head() (h Head, ok bool)
	// Entries returns the trusted entries of epochs from, from+1, …, at
	// most max of them; none if from is past the head.
	Entries(from uint64, max int) []*membership.SignedUpdate
	// Evidence returns the evidence file the node holds under name
	// (Head.Evidence), nil if none.
	Evidence(name string) []byte
}

// Server serves a Source (see the package doc for the protocol and its
// bounds).
type Server struct {
	src     Source
	log     *slog.Logger
	slots   chan struct{}
	limiter *rate.Limiter
	http    *http.Server
}

// NewServer returns a server of src; log may be nil.
func NewServer(src Source, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{src: src, log: log, slots: make(chan struct{}, MaxConcurrent), limiter: rate.NewLimiter(RequestsPerSecond, Burst)}
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: headerTimeout,
		ReadTimeout:       headerTimeout,
		WriteTimeout:      requestTimeout,
		IdleTimeout:       requestTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return s
}

// Serve serves connections from ln until Close; it returns nil after
// Close.
func (s *Server) Serve(ln net.Listener) error {
	err := s.http.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops every listener and connection.
func (s *Server) Close() error { return s.http.Close() }

// Shutdown stops accepting and waits for requests in flight, until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error { return s.http.Shutdown(ctx) }

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet {
		http.Error(w, "only GET", http.StatusMethodNotAllowed)
		return
	}
	if r.ContentLength != 0 {
		http.Error(w, "no body", http.StatusBadRequest)
		return
	}
	if !s.limiter.Allow() {
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	switch r.URL.Path {
	case "/v1/head":
		h, ok := s.src.Head()
		if !ok {
			http.Error(w, "no trusted head", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(h)
	case "/v1/log":
		q := r.URL.Query()
		from, err := strconv.ParseUint(q.Get("from"), 10, 64)
		if err != nil || from == 0 || len(q) != 1 || len(q["from"]) != 1 {
			http.Error(w, "want ?from=EPOCH (1 or more)", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(membership.EncodeLog(s.src.Entries(from, MaxBatch)))
	case "/v1/evidence":
		q := r.URL.Query()
		if len(q) != 1 || len(q["name"]) != 1 || !evidenceName.MatchString(q.Get("name")) {
			http.Error(w, "want ?name=EVIDENCE (a name from the head)", http.StatusBadRequest)
			return
		}
		data := s.src.Evidence(q.Get("name"))
		if data == nil {
			http.Error(w, "no evidence", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(data)
	default:
		http.NotFound(w, r)
	}
}
