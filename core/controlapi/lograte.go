package controlapi

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// logLimiter logs each distinct message at most once per interval: the
// first time at once, later ones with how many times the message recurred
// since it was last logged. A flood of one failure is so one log line per
// interval, not one per request. Counts of messages that stop recurring
// are logged with the next line logged after their interval.
type logLimiter struct {
	log   *slog.Logger
	every time.Duration
	now   func() time.Time

	mu   sync.Mutex
	seen map[string]*logSeen
}

type logSeen struct {
	level      slog.Level
	msg        string
	args       []any
	logged     time.Time // when it was last logged
	suppressed int       // recurrences since
}

// maxLogKeys bounds the distinct messages remembered; past it they are
// forgotten, so hostile input cannot grow the map.
const maxLogKeys = 1024

func newLogLimiter(log *slog.Logger, every time.Duration) *logLimiter {
	return &logLimiter{log: log, every: every, now: time.Now, seen: map[string]*logSeen{}}
}

func (l *logLimiter) warn(msg string, args ...any) {
	l.logAt(slog.LevelWarn, lineKey(msg, args), msg, args...)
}
func (l *logLimiter) error(msg string, args ...any) {
	l.logAt(slog.LevelError, lineKey(msg, args), msg, args...)
}

// warnKeyed is warn for lines that count as the same when their keys are
// (the line logged is the first of them in the interval).
func (l *logLimiter) warnKeyed(key, msg string, args ...any) {
	l.logAt(slog.LevelWarn, "keyed\x00"+key, msg, args...)
}

// lineKey identifies a whole line.
func lineKey(msg string, args []any) string {
	key := msg
	for _, a := range args {
		key += "\x00" + slog.AnyValue(a).String()
	}
	return key
}

// logAt logs msg with args unless a line with the same key was logged
// within the interval.
func (l *logLimiter) logAt(level slog.Level, key, msg string, args ...any) {
	key = strconv.Itoa(int(level)) + "\x00" + key
	now := l.now()
	var out []*logSeen
	l.mu.Lock()
	s, ok := l.seen[key]
	switch {
	case ok && now.Sub(s.logged) < l.every:
		s.suppressed++
	default:
		if !ok {
			if len(l.seen) >= maxLogKeys {
				clear(l.seen)
			}
			s = &logSeen{level: level, msg: msg, args: args}
			l.seen[key] = s
		}
		out = append(out, &logSeen{level: level, msg: msg, args: args, suppressed: s.suppressed})
		s.logged, s.suppressed = now, 0
		for k, o := range l.seen { // counts of lines that stopped recurring
			if k != key && o.suppressed > 0 && now.Sub(o.logged) >= l.every {
				out = append(out, &logSeen{level: o.level, msg: o.msg, args: o.args, suppressed: o.suppressed})
				o.logged, o.suppressed = now, 0
			}
		}
	}
	l.mu.Unlock()
	for _, o := range out {
		args := o.args
		if o.suppressed > 0 {
			args = append(append([]any(nil), args...), "repeated", o.suppressed, "interval", l.every)
		}
		l.log.Log(context.Background(), o.level, o.msg, args...)
	}
}
