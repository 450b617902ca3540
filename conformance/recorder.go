package conformance

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// stdoutMessage is the message hostapi's launcher logs (at Warn) for each
// line a plugin writes to its stdout after the handshake.
const stdoutMessage = "plugin wrote to stdout"

// maxRecords bounds what a recorder keeps: the last lines are the ones
// that explain a failure.
const maxRecords = 400

// recorder keeps the log records of the plugin instances a case starts:
// their own log lines, what they wrote to stdout and stderr, and
// go-plugin's messages about them.
type recorder struct {
	mu      sync.Mutex // guards the fields below
	lines   []string   // the last maxRecords records, formatted
	dropped int
	stdout  []string // every line a plugin wrote to stdout
}

func newRecorder() *recorder { return &recorder{} }

// logger returns a logger whose records r keeps.
func (r *recorder) logger() *slog.Logger { return slog.New(&recordHandler{r: r}) }

func (r *recorder) add(rec slog.Record, attrs []slog.Attr) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", rec.Level, rec.Message)
	line := ""
	emit := func(a slog.Attr) bool {
		if a.Key == "line" {
			line = a.Value.String()
		}
		fmt.Fprintf(&b, " %s=%q", a.Key, a.Value.String())
		return true
	}
	for _, a := range attrs {
		emit(a)
	}
	rec.Attrs(emit)
	r.mu.Lock()
	defer r.mu.Unlock()
	if rec.Message == stdoutMessage {
		r.stdout = append(r.stdout, line)
	}
	r.lines = append(r.lines, b.String())
	if len(r.lines) > maxRecords {
		r.dropped += len(r.lines) - maxRecords
		r.lines = r.lines[len(r.lines)-maxRecords:]
	}
}

// stdoutLines returns every line a plugin wrote to stdout so far.
func (r *recorder) stdoutLines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.stdout...)
}

// tail returns the records kept, oldest first.
func (r *recorder) tail() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.lines)+1)
	if r.dropped > 0 {
		out = append(out, fmt.Sprintf("(%d earlier plugin log lines dropped)", r.dropped))
	}
	return append(out, r.lines...)
}

// recordHandler is the slog.Handler of a recorder's loggers.
type recordHandler struct {
	r     *recorder
	attrs []slog.Attr
}

func (h *recordHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelDebug }

func (h *recordHandler) Handle(_ context.Context, rec slog.Record) error {
	h.r.add(rec, h.attrs)
	return nil
}

func (h *recordHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &recordHandler{r: h.r, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}

func (h *recordHandler) WithGroup(string) slog.Handler { return h }

// Write records each line of p as one log line; it lets go-plugin's own
// logger (hclog) write into the recorder.
func (r *recorder) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		r.add(slog.NewRecord(time.Now(), slog.LevelInfo, line, 0), nil)
	}
	return len(p), nil
}
