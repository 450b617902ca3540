// Package daemonlog builds the daemon's logger: slog's text or JSON lines
// on stderr, each line prefixed with its syslog priority ("<6>" for Info)
// when stderr is connected to systemd's journal, so that journald records
// every line, plugins' re-levelled lines included, at its level (journald
// strips the prefix; see sd-daemon(3) and SyslogLevelPrefix= in
// systemd.exec(5)).
package daemonlog

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
)

// Options configure New.
type Options struct {
	Level slog.Leveler
	// JSON writes one JSON object per line instead of key=value text.
	JSON bool
	// Priority starts each line with its syslog priority, <3> to <7>.
	Priority bool
}

// New returns a logger writing to w as opts says.
func New(w io.Writer, opts Options) *slog.Logger {
	var pw *prefixWriter
	if opts.Priority {
		pw = &prefixWriter{w: w}
		w = pw
	}
	ho := &slog.HandlerOptions{Level: opts.Level}
	var h slog.Handler = slog.NewTextHandler(w, ho)
	if opts.JSON {
		h = slog.NewJSONHandler(w, ho)
	}
	if pw != nil {
		h = &priorityHandler{inner: h, w: pw}
	}
	return slog.New(h)
}

// Priority is the syslog priority of a level: err (3), warning (4), info
// (6) or debug (7). Levels between take the priority below them.
func Priority(l slog.Level) int {
	switch {
	case l >= slog.LevelError:
		return 3
	case l >= slog.LevelWarn:
		return 4
	case l >= slog.LevelInfo:
		return 6
	default:
		return 7
	}
}

// priorityHandler sets the prefix of the line its inner handler is about
// to write. slog's handlers write each record with one Write call.
type priorityHandler struct {
	inner slog.Handler
	w     *prefixWriter
}

func (h *priorityHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *priorityHandler) Handle(ctx context.Context, r slog.Record) error {
	h.w.mu.Lock()
	defer h.w.mu.Unlock()
	h.w.priority = Priority(r.Level)
	return h.inner.Handle(ctx, r)
}

func (h *priorityHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &priorityHandler{inner: h.inner.WithAttrs(as), w: h.w}
}

func (h *priorityHandler) WithGroup(name string) slog.Handler {
	return &priorityHandler{inner: h.inner.WithGroup(name), w: h.w}
}

// prefixWriter writes each line it is given after "<priority>".
type prefixWriter struct {
	w        io.Writer
	mu       sync.Mutex // held by priorityHandler.Handle across the inner Write
	priority int
	buf      bytes.Buffer
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	n := len(b)
	p.buf.Reset()
	for len(b) > 0 {
		line, rest, _ := bytes.Cut(b, []byte("\n"))
		p.buf.WriteByte('<')
		p.buf.WriteByte(byte('0' + p.priority))
		p.buf.WriteByte('>')
		p.buf.Write(line)
		p.buf.WriteByte('\n')
		b = rest
	}
	if _, err := p.w.Write(p.buf.Bytes()); err != nil {
		return 0, err
	}
	return n, nil
}
