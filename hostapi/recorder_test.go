package hostapi_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// logRecord is one record a recorder received.
type logRecord struct {
	Level slog.Level
	Msg   string
	Attrs map[string]any
}

// recorder is an slog.Handler that keeps every record at or above its level.
type recorder struct {
	level slog.Level
	attrs []slog.Attr
	log   *recordLog
}

type recordLog struct {
	mu      sync.Mutex
	records []logRecord
	changed chan struct{} // receives a token after each new record
}

func newRecorder(level slog.Level) *recorder {
	return &recorder{level: level, log: &recordLog{changed: make(chan struct{}, 1)}}
}

func (r *recorder) Enabled(_ context.Context, l slog.Level) bool { return l >= r.level }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	lr := logRecord{Level: rec.Level, Msg: rec.Message, Attrs: map[string]any{}}
	for _, a := range r.attrs {
		lr.Attrs[a.Key] = a.Value.Any()
	}
	rec.Attrs(func(a slog.Attr) bool {
		lr.Attrs[a.Key] = a.Value.Any()
		return true
	})
	r.log.mu.Lock()
	r.log.records = append(r.log.records, lr)
	r.log.mu.Unlock()
	select {
	case r.log.changed <- struct{}{}:
	default:
	}
	return nil
}

func (r *recorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &recorder{level: r.level, attrs: append(append([]slog.Attr(nil), r.attrs...), attrs...), log: r.log}
}

func (r *recorder) WithGroup(string) slog.Handler { return r }

func (r *recorder) snapshot() []logRecord {
	r.log.mu.Lock()
	defer r.log.mu.Unlock()
	return append([]logRecord(nil), r.log.records...)
}

// waitFor waits until some record satisfies match and returns it, failing
// the test after timeout.
func (r *recorder) waitFor(t *testing.T, timeout time.Duration, what string, match func(logRecord) bool) logRecord {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		for _, rec := range r.snapshot() {
			if match(rec) {
				return rec
			}
		}
		select {
		case <-r.log.changed:
		case <-deadline.C:
			t.Fatalf("no log record %s within %s; got %+v", what, timeout, r.snapshot())
		}
	}
}
