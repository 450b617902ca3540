package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rustynet/rustynet/core/controlapi"
)

// Handler serves /metrics (the Prometheus text exposition format, or
// protobuf when asked) and /healthz.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	mux.HandleFunc("GET /healthz", m.healthz)
	return mux
}

// healthz answers the node's health check: 200 when healthy, 503 when
// degraded or restricted (or when the status cannot be read), with the
// check's one line as the body and its level in X-Rustynet-Health.
func (m *Metrics) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), scrapeTimeout)
	defer cancel()
	res := controlapi.CheckResult{Level: controlapi.CheckUnreachable, State: controlapi.CheckUnreachable.String()}
	s, err := m.src.Status(ctx)
	if err != nil {
		res.Reason = "reading the daemon's status: " + err.Error()
	} else {
		res = s.Check()
	}
	code := http.StatusOK
	if res.Level != controlapi.CheckHealthy {
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Rustynet-Health", res.State)
	w.WriteHeader(code)
	fmt.Fprintln(w, res.Line())
}

// Server is the metrics HTTP server of a node.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// Serve starts serving m on ln until Shutdown.
func (m *Metrics) Serve(ln net.Listener) *Server {
	s := &Server{
		srv: &http.Server{Handler: m.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
			WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute},
		ln:   ln,
		done: make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Shutdown stops the server, waiting (within ctx) for requests in flight.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
