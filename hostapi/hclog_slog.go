package hostapi

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
)

// hclogSlog is an hclog.Logger that writes to an *slog.Logger, so that
// go-plugin's messages and the plugin log lines it re-levels land in the
// logger the host injected. Levels map one to one (hclog TRACE is
// LevelTrace); the logger's name travels as the attribute "logger". Its
// level is the slog handler's: SetLevel does nothing.
type hclogSlog struct {
	log     *slog.Logger
	name    string
	implied []any
}

var _ hclog.Logger = (*hclogSlog)(nil)

func newHCLogger(l *slog.Logger) *hclogSlog { return &hclogSlog{log: l} }

func slogLevel(l hclog.Level) slog.Level {
	switch l {
	case hclog.Trace:
		return LevelTrace
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	case hclog.Off:
		return levelOff
	default:
		return slog.LevelInfo
	}
}

func (h *hclogSlog) Log(level hclog.Level, msg string, args ...any) {
	lvl := slogLevel(level)
	ctx := context.Background()
	if lvl >= levelOff || !h.log.Enabled(ctx, lvl) {
		return
	}
	at, args := pluginLineTime(args)
	if h.name != "" {
		args = append([]any{slog.String("logger", h.name)}, args...)
	}
	r := slog.NewRecord(at, lvl, msg, 0)
	r.Add(args...)
	_ = h.log.Handler().Handle(ctx, r)
}

// pluginLineTime recognises a plugin's log line that go-plugin re-levels:
// its attributes (from a JSON object, in random order) followed by
// "timestamp" and the plugin's own time. It returns that time, to stamp the
// record with, and the attributes sorted by key without it, so the line
// carries one time and a stable order. Other calls keep their arguments
// and get the time now.
func pluginLineTime(args []any) (time.Time, []any) {
	n := len(args)
	if n < 2 || n%2 != 0 || args[n-2] != "timestamp" {
		return time.Now(), args
	}
	s, _ := args[n-1].(string)
	at, err := time.Parse(hclog.TimeFormat, s)
	if err != nil {
		return time.Now(), args
	}
	pairs := make([][2]any, 0, n/2-1)
	for i := 0; i < n-2; i += 2 {
		pairs = append(pairs, [2]any{args[i], args[i+1]})
	}
	slices.SortStableFunc(pairs, func(a, b [2]any) int { return strings.Compare(fmt.Sprint(a[0]), fmt.Sprint(b[0])) })
	out := make([]any, 0, n-2)
	for _, p := range pairs {
		out = append(out, p[0], p[1])
	}
	return at, out
}

func (h *hclogSlog) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *hclogSlog) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *hclogSlog) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *hclogSlog) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *hclogSlog) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

func (h *hclogSlog) enabled(l hclog.Level) bool {
	return h.log.Enabled(context.Background(), slogLevel(l))
}

func (h *hclogSlog) IsTrace() bool { return h.enabled(hclog.Trace) }
func (h *hclogSlog) IsDebug() bool { return h.enabled(hclog.Debug) }
func (h *hclogSlog) IsInfo() bool  { return h.enabled(hclog.Info) }
func (h *hclogSlog) IsWarn() bool  { return h.enabled(hclog.Warn) }
func (h *hclogSlog) IsError() bool { return h.enabled(hclog.Error) }

func (h *hclogSlog) ImpliedArgs() []any { return h.implied }

func (h *hclogSlog) With(args ...any) hclog.Logger {
	return &hclogSlog{
		log:     h.log.With(args...),
		name:    h.name,
		implied: append(append([]any(nil), h.implied...), args...),
	}
}

func (h *hclogSlog) Name() string { return h.name }

func (h *hclogSlog) Named(name string) hclog.Logger {
	if h.name != "" {
		name = h.name + "." + name
	}
	return h.ResetNamed(name)
}

func (h *hclogSlog) ResetNamed(name string) hclog.Logger {
	return &hclogSlog{log: h.log, name: name, implied: h.implied}
}

func (h *hclogSlog) SetLevel(hclog.Level) {}

func (h *hclogSlog) GetLevel() hclog.Level {
	for _, l := range []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn, hclog.Error} {
		if h.enabled(l) {
			return l
		}
	}
	return hclog.Off
}

func (h *hclogSlog) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(h.StandardWriter(opts), "", 0)
}

func (h *hclogSlog) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	level := hclog.Info
	if opts != nil && opts.ForceLevel != hclog.NoLevel {
		level = opts.ForceLevel
	}
	return &hclogWriter{log: h, level: level}
}

// hclogWriter logs each Write as one message.
type hclogWriter struct {
	log   *hclogSlog
	level hclog.Level
}

func (w *hclogWriter) Write(p []byte) (int, error) {
	w.log.Log(w.level, strings.TrimRight(string(p), "\r\n"))
	return len(p), nil
}
