package controlapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	json "github.com/go-json-experiment/json/v1" // encoding/json's API and output on encoding/json/v2's faster engine
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/internal/readgroup"
)

// Handler is what the daemon implements. Its errors reach the client: a
// *membership.Error keeps its code (422), an *Error its code, a plugin's
// UNAVAILABLE or CLOSED error (hostapi) becomes UNAVAILABLE (503,
// retryable), anything else INTERNAL (500). Calls may be concurrent; ctx
// ends if the client goes away or the request's deadline passes
// (Limits.RequestTimeout), and a call cut by the deadline fails
// UNAVAILABLE.
type Handler interface {
	// Status reports the node's current state.
	Status(ctx context.Context) (Status, error)
	// ApplyUpdate verifies the signed update (the bytes of its JSON file)
	// and, unless dryRun, applies it.
	ApplyUpdate(ctx context.Context, update []byte, dryRun bool) (ApplyResult, error)
	// Log returns the head of the trusted log and its entries of epochs
	// from, from+1, …: at most max of them, none past the head it
	// returns, none if from is past it. from and max are 1 or more.
	Log(ctx context.Context, from uint64, max int) (LogHead, []*membership.SignedUpdate, error)
}

// A SummaryHandler is a Handler that gathers a status without its peers
// for less than the whole: for GET /v1/status?peers=summary or none the
// server calls StatusSummary instead of Status. Its status carries the
// peers as d asks (see Status.WithPeers), with Interface.Routes without
// host routes and Interface.HostRoutes counting them.
type SummaryHandler interface {
	StatusSummary(ctx context.Context, d PeerDetail) (Status, error)
}

// MaxUpdateBytes is the largest update body the server reads; a larger one
// is refused with 413. It leaves room above membership's largest genesis
// (16 MiB canonical body plus envelope).
const MaxUpdateBytes = 32<<20 + 64<<10

// Defaults of Limits.
const (
	DefaultMaxConns       = 128
	DefaultMaxBodyBytes   = 2 * MaxUpdateBytes
	DefaultHeaderTimeout  = 5 * time.Second
	DefaultReadTimeout    = 30 * time.Second
	DefaultRequestTimeout = 90 * time.Second
	DefaultLogInterval    = 10 * time.Second
)

// Limits bound what a Server accepts, so that no client — flooding,
// trickling, or sending too much — can exhaust the daemon's memory,
// descriptors or time, while well-behaved clients are still served.
// Excess is refused at once with 503 UNAVAILABLE and a message saying to
// retry. Zero values mean the defaults.
type Limits struct {
	// MaxConns bounds the connections held at once (DefaultMaxConns). At
	// the limit, the connection that has waited longest without a request
	// in progress (idle, or still sending its header) is closed to make
	// room; if every one has a request in progress the new one is refused.
	MaxConns int
	// MaxBodyBytes bounds the update bytes held in memory at once across
	// all requests, from the first byte read until the daemon has
	// answered (DefaultMaxBodyBytes: two updates of the largest size). A
	// body that does not fit is refused before it is read.
	MaxBodyBytes int64
	// HeaderTimeout bounds reading a request's header
	// (DefaultHeaderTimeout); ReadTimeout the whole request with its body
	// (DefaultReadTimeout).
	HeaderTimeout, ReadTimeout time.Duration
	// RequestTimeout bounds the daemon's work on one request
	// (DefaultRequestTimeout); a request cut by it fails UNAVAILABLE. It
	// leaves room for a plugin relaunch.
	RequestTimeout time.Duration
	// LogInterval: a refusal or failure logged is logged again at most once
	// per interval, with a count of its repeats (DefaultLogInterval).
	LogInterval time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.MaxConns <= 0 {
		l.MaxConns = DefaultMaxConns
	}
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if l.HeaderTimeout <= 0 {
		l.HeaderTimeout = DefaultHeaderTimeout
	}
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = DefaultReadTimeout
	}
	if l.RequestTimeout <= 0 {
		l.RequestTimeout = DefaultRequestTimeout
	}
	if l.LogInterval <= 0 {
		l.LogInterval = DefaultLogInterval
	}
	return l
}

// Server timeouts beyond Limits: writing a response and keeping an idle
// connection.
const (
	idleTimeout    = 2 * time.Minute
	maxHeaderBytes = 64 << 10
)

// Server is the control API's HTTP server.
type Server struct {
	hs  *http.Server
	lim Limits
	s   *server
}

// NewServer returns a server for the control API that passes requests
// from authorized peers to h, within lim. Serve it on a listener from
// Listen (it must serve Unix socket or named pipe connections: peer
// credentials are read from each connection, and a request whose peer is
// unknown is refused); stop it with Shutdown. A nil auth is
// NewAuthorizer(""): root and the daemon's own user. logger receives
// refusals and failures (each at most once per Limits.LogInterval, with a
// count of repeats); nil discards them.
func NewServer(h Handler, auth Authorizer, logger *slog.Logger, lim Limits) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if auth == nil {
		auth, _ = NewAuthorizer("") // cannot fail without a group
	}
	lim = lim.withDefaults()
	s := &server{h: h, auth: auth, lim: lim, logs: newLogLimiter(logger, lim.LogInterval), body: &budget{free: lim.MaxBodyBytes},
		statusReads: map[PeerDetail]*readgroup.Group[statusDoc]{PeersAll: {Rest: statusRest}, PeersSummary: {Rest: statusRest}, PeersNone: {Rest: statusRest}},
		statusSize:  map[PeerDetail]*atomic.Int64{PeersAll: {}, PeersSummary: {}, PeersNone: {}}}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/status", s.status)
	mux.HandleFunc("/v1/apply-update", s.applyUpdate)
	mux.HandleFunc("/v1/log", s.logPage)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, &Error{Code: CodeUsage, Message: "no such endpoint: " + r.URL.Path, Status: http.StatusNotFound})
	})
	srv := &Server{lim: lim, s: s}
	srv.hs = &http.Server{
		Handler:           s.guard(s.authorize(mux)),
		ConnContext:       withConn,
		ReadHeaderTimeout: lim.HeaderTimeout,
		ReadTimeout:       lim.ReadTimeout,
		// The response is written after the daemon's work, which the
		// request deadline bounds.
		WriteTimeout:   lim.ReadTimeout + lim.RequestTimeout + 30*time.Second,
		IdleTimeout:    idleTimeout,
		MaxHeaderBytes: maxHeaderBytes,
		ErrorLog:       slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return srv
}

// Serve serves the control API on l until Shutdown, holding at most
// Limits.MaxConns of its connections at once. It returns
// http.ErrServerClosed after Shutdown.
func (srv *Server) Serve(l net.Listener) error {
	cl := newConnLimiter(l, srv.lim.MaxConns, srv.s.logs)
	srv.s.conns.Store(cl)
	srv.hs.ConnState = cl.connState
	return srv.hs.Serve(cl)
}

// Shutdown stops accepting connections and waits (within ctx) for the
// requests in progress, as http.Server.Shutdown.
func (srv *Server) Shutdown(ctx context.Context) error {
	err := srv.hs.Shutdown(ctx)
	if cl := srv.s.conns.Load(); cl != nil {
		cl.wait() // refusals end within a second
	}
	return err
}

type server struct {
	h     Handler
	auth  Authorizer
	lim   Limits
	logs  *logLimiter
	body  *budget
	conns atomic.Pointer[connLimiter] // set by Serve, before any request

	// statusReads coalesce the status requests of each peer detail (keys
	// fixed by NewServer): see status.
	statusReads map[PeerDetail]*readgroup.Group[statusDoc]
	statusSize  map[PeerDetail]*atomic.Int64 // the size of the last status encoded; keys as statusReads
}

// guard marks the request's connection busy (not to be evicted) and
// bounds the daemon's work on it by the request deadline. The request of
// a connection evicted meanwhile is dropped: the client has its 503.
func (s *server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cl := s.conns.Load(); cl != nil && !cl.markBusy(r.Context()) {
			panic(http.ErrAbortHandler) // no answer from here, and no stack trace logged
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.lim.RequestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
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
			// One line per refused user, reason and interval.
			s.logs.warnKeyed(fmt.Sprint(res.peer.UID, err), "control API: refused a client",
				"peer", res.peer.String(), "method", r.Method, "path", r.URL.Path, "reason", err.Error())
			s.fail(w, r, &Error{Code: CodeForbidden, Message: err.Error()})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// statusRest is how long status gathering rests after one that took
// took: half as long, at most a quarter of a second. Clients reading
// status back to back then keep the daemon's status work to two thirds of
// the time, and the applies keep the rest; a client that pauses as long
// (one decoding the last status) waits for nothing. Each request still
// gets a status gathered after it asked.
func statusRest(took time.Duration) time.Duration { return min(took/2, 250*time.Millisecond) }

// status answers GET /v1/status. Concurrent requests for the same peer
// detail share one gathering and one JSON encoding (readgroup.Group: each
// gets a status gathered after it asked), so five clients reading a
// 10,000-peer status back to back cost the daemon one encoding of its
// megabytes, not five. Gatherings are paced (statusRest): clients reading
// back to back wait, rather than keep the daemon gathering all the time
// beside the applies. A gathering cut short by the end of the context it
// ran under (another request's) is done again for the requests that are
// still waiting. The reply's Server-Timing header says how long the
// gathering and the encoding it got took (statusDoc).
func (s *server) status(w http.ResponseWriter, r *http.Request) {
	if !s.method(w, r, http.MethodGet) {
		return
	}
	detail, err := ParsePeerDetail(r.URL.Query().Get("peers"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	doc, err := s.statusReads[detail].DoContext(r.Context(), func(ctx context.Context) (statusDoc, error) {
		return s.encodeStatus(ctx, detail)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Server-Timing", doc.serverTiming())
	s.writeJSON(w, http.StatusOK, doc.body)
}

// statusDoc is a gathered status, encoded, and what producing it took:
// gathering it from the daemon (Handler.Status or StatusSummary: in
// process, the backend's state among it) and encoding it as JSON. The
// requests that share a gathering share it.
type statusDoc struct {
	body           []byte
	gather, encode time.Duration
}

// serverTiming returns d's durations as a Server-Timing header value (W3C
// Server Timing: milliseconds), which status replies carry so that a
// client can tell the daemon's share of a status from its own.
func (d statusDoc) serverTiming() string {
	ms := func(t time.Duration) string {
		return strconv.FormatFloat(float64(t)/float64(time.Millisecond), 'f', 3, 64)
	}
	return "gather;dur=" + ms(d.gather) + ", encode;dur=" + ms(d.encode)
}

// encodeStatus gathers the status with the peers as detail asks and
// encodes it.
func (s *server) encodeStatus(ctx context.Context, detail PeerDetail) (statusDoc, error) {
	start := time.Now()
	var st Status
	var err error
	if sh, ok := s.h.(SummaryHandler); ok && detail != PeersAll {
		st, err = sh.StatusSummary(ctx, detail)
	} else {
		st, err = s.h.Status(ctx)
		st = st.WithPeers(detail)
	}
	if err != nil {
		return statusDoc{}, err
	}
	gathered := time.Now()
	last := s.statusSize[detail]
	// The last one's size and some: one allocation, no regrowing megabytes.
	body, err := AppendStatus(make([]byte, 0, last.Load()+4<<10), st)
	if err != nil {
		return statusDoc{}, Errorf(CodeInternal, "encoding the status: %v", err)
	}
	last.Store(int64(len(body)))
	return statusDoc{body: body, gather: gathered.Sub(start), encode: time.Since(gathered)}, nil
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
	update, release, err := s.readBody(w, r)
	defer release()
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

// bodyStep is how much a body of unknown length grows by at least.
const bodyStep = 64 << 10

// readBody reads a request body of at most MaxUpdateBytes, holding what it
// reads against the body budget until release is called (after the
// daemon has answered): a body that does not fit is refused UNAVAILABLE
// before more of it is read. release is never nil.
func (s *server) readBody(w http.ResponseWriter, r *http.Request) (body []byte, release func(), err error) {
	var held int64
	release = func() { s.body.give(held) }
	grow := func(buf []byte, n int64) ([]byte, bool) {
		if !s.body.take(n) {
			return buf, false
		}
		held += n
		return append(make([]byte, 0, int64(cap(buf))+n), buf...), true
	}
	tooLarge := &Error{Code: CodeUsage, Message: "the update exceeds " + strconv.Itoa(MaxUpdateBytes) + " bytes", Status: http.StatusRequestEntityTooLarge}
	if r.ContentLength > MaxUpdateBytes {
		return nil, release, tooLarge
	}
	var buf []byte
	if r.ContentLength > 0 {
		var ok bool
		if buf, ok = grow(nil, r.ContentLength); !ok {
			return nil, release, busyError(s.lim.MaxBodyBytes)
		}
	}
	rd := http.MaxBytesReader(w, r.Body, MaxUpdateBytes)
	for {
		if len(buf) == cap(buf) {
			// Full, or a length the client did not announce: read one
			// byte before growing, so a body that has ended costs nothing.
			var one [1]byte
			n, err := rd.Read(one[:])
			if n == 0 && err == nil {
				continue
			}
			if n == 0 {
				if err == io.EOF {
					break
				}
				return nil, release, bodyError(err, tooLarge)
			}
			step := min(max(int64(cap(buf)), bodyStep), MaxUpdateBytes+1-int64(cap(buf)))
			var ok bool
			if buf, ok = grow(buf, step); !ok {
				return nil, release, busyError(s.lim.MaxBodyBytes)
			}
			buf = append(buf, one[0])
			if err == io.EOF {
				break
			}
			continue
		}
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, release, bodyError(err, tooLarge)
		}
	}
	if len(buf) == 0 {
		return nil, release, Errorf(CodeUsage, "the request carries no update")
	}
	return buf, release, nil
}

// bodyError explains a failure to read a body.
func bodyError(err error, tooLarge error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge
	}
	return Errorf(CodeUsage, "reading the update: %v", err)
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

// fail writes err as the JSON error body. A failure caused by the
// request's deadline is UNAVAILABLE: the daemon may well answer a retry.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var me *membership.Error
	var e *Error
	if errors.Is(r.Context().Err(), context.DeadlineExceeded) && !errors.As(err, &me) && !errors.As(err, &e) {
		err = &Error{Code: CodeUnavailable, Message: fmt.Sprintf("the daemon did not finish within %s (%v); retry", s.lim.RequestTimeout, err)}
	}
	status, body := toWire(err)
	if status >= 500 {
		s.logs.error("control API: request failed", "method", r.Method, "path", r.URL.Path, "code", body.Code, "err", body.Message)
	}
	s.write(w, status, body)
}

func (s *server) reply(w http.ResponseWriter, v any) { s.write(w, http.StatusOK, v) }

func (s *server) write(w http.ResponseWriter, status int, v any) {
	s.header(w, status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		s.logs.log.Debug("control API: writing the response", "err", err)
	}
}

// writeJSON writes body, a JSON document already encoded, with its
// length (the client reads it into one buffer of that size).
func (s *server) writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	s.header(w, status)
	if _, err := w.Write(body); err != nil {
		s.logs.log.Debug("control API: writing the response", "err", err)
	}
}

// header writes the header of a JSON response with status.
func (s *server) header(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "application/json")
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(status)
}
