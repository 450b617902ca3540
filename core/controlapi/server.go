package controlapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// Handler is what the daemon implements. Its errors reach the client: a
// *membership.Error keeps its code (422), an *Error its code, anything else
// becomes INTERNAL (500). Calls may be concurrent.
type Handler interface {
	// Status reports the node's current state.
	Status(ctx context.Context) (Status, error)
	// ApplyUpdate verifies the signed update (the bytes of its JSON file)
	// and, unless dryRun, applies it. ctx ends if the client goes away.
	ApplyUpdate(ctx context.Context, update []byte, dryRun bool) (ApplyResult, error)
}

// MaxUpdateBytes is the largest update body the server reads; a larger one
// is refused with 413. It leaves room above membership's largest genesis
// (16 MiB canonical body plus envelope).
const MaxUpdateBytes = 32<<20 + 64<<10

// Server timeouts. The body of an update crosses a local socket, so reading
// it is quick; applying it may wait for a plugin restart.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 2 * time.Minute
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
)

// NewServer returns an HTTP server for the control API that passes requests
// from authorized peers to h. Serve it on a listener from Listen (it must
// serve Unix socket or named pipe connections: peer credentials are read
// from each connection, and a request whose peer is unknown is refused);
// stop it with Shutdown. A nil auth is NewAuthorizer(""): root and the
// daemon's own user. logger receives refusals and internal errors; nil
// discards them.
func NewServer(h Handler, auth Authorizer, logger *slog.Logger) *http.Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if auth == nil {
		auth, _ = NewAuthorizer("") // cannot fail without a group
	}
	s := &server{h: h, auth: auth, log: logger}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/status", s.status)
	mux.HandleFunc("/v1/apply-update", s.applyUpdate)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, &Error{Code: CodeUsage, Message: "no such endpoint: " + r.URL.Path, Status: http.StatusNotFound})
	})
	return &http.Server{
		Handler:           s.authorize(mux),
		ConnContext:       withPeer,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

type server struct {
	h    Handler
	auth Authorizer
	log  *slog.Logger
}

// authorize refuses requests from peers the Authorizer does not admit, or
// whose credentials could not be read.
func (s *server) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, ok := r.Context().Value(peerKey{}).(peerResult)
		err := res.err
		switch {
		case !ok:
			err = errors.New("the connection carries no peer credentials")
		case err == nil:
			err = s.auth.Authorize(res.peer)
		}
		if err != nil {
			s.log.Warn("control API: refused a client", "peer", res.peer.String(), "method", r.Method, "path", r.URL.Path, "reason", err.Error())
			s.fail(w, r, &Error{Code: CodeForbidden, Message: err.Error()})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *server) status(w http.ResponseWriter, r *http.Request) {
	if !s.method(w, r, http.MethodGet) {
		return
	}
	st, err := s.h.Status(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.reply(w, st)
}

func (s *server) applyUpdate(w http.ResponseWriter, r *http.Request) {
	if !s.method(w, r, http.MethodPost) {
		return
	}
	dryRun := false
	if v := r.URL.Query().Get("dry_run"); v != "" {
		var err error
		if dryRun, err = strconv.ParseBool(v); err != nil {
			s.fail(w, r, Errorf(CodeUsage, "dry_run=%q is not a boolean", v))
			return
		}
	}
	update, err := readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.h.ApplyUpdate(r.Context(), update, dryRun)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.reply(w, res)
}

// readBody reads a request body of at most MaxUpdateBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	tooLarge := &Error{Code: CodeUsage, Message: "the update exceeds " + strconv.Itoa(MaxUpdateBytes) + " bytes", Status: http.StatusRequestEntityTooLarge}
	if r.ContentLength > MaxUpdateBytes {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxUpdateBytes))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, tooLarge
	case err != nil:
		return nil, Errorf(CodeUsage, "reading the update: %v", err)
	case len(body) == 0:
		return nil, Errorf(CodeUsage, "the request carries no update")
	}
	return body, nil
}

// method reports whether r uses want, replying 405 if not.
func (s *server) method(w http.ResponseWriter, r *http.Request, want string) bool {
	if r.Method == want {
		return true
	}
	w.Header().Set("Allow", want)
	s.fail(w, r, &Error{Code: CodeUsage, Message: r.Method + " is not allowed on " + r.URL.Path + "; use " + want, Status: http.StatusMethodNotAllowed})
	return false
}

// fail writes err as the JSON error body.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, body := toWire(err)
	if status >= 500 {
		s.log.Error("control API: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	s.write(w, status, body)
}

func (s *server) reply(w http.ResponseWriter, v any) { s.write(w, http.StatusOK, v) }

func (s *server) write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		s.log.Debug("control API: writing the response", "err", err)
	}
}
