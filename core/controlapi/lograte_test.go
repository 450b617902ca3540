package controlapi

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rustynet/rustynet/internal/lockedbuf"
)

func TestLogLimiterCountsRepeats(t *testing.T) {
	var logs lockedbuf.Buffer
	l := newLogLimiter(slog.New(slog.NewTextHandler(&logs, nil)), time.Minute)
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return now }
	for range 10 {
		l.error("request failed", "err", "store unavailable")
	}
	l.warn("refused", "uid", 7) // another line: logged at once
	if got := strings.Count(logs.String(), "request failed"); got != 1 {
		t.Fatalf("10 identical lines within the interval logged %d times, want 1", got)
	}
	now = now.Add(time.Minute)
	l.error("request failed", "err", "store unavailable")
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if last := lines[len(lines)-1]; len(lines) != 3 || !strings.Contains(last, "repeated=9") {
		t.Errorf("got lines %q; want a third saying repeated=9", lines)
	}
	// A line that stops recurring has its count told with the next line.
	l.warn("refused", "uid", 7)
	l.warn("refused", "uid", 7)
	now = now.Add(time.Minute)
	l.error("something else")
	if !strings.Contains(logs.String(), "uid=7 repeated=1") {
		t.Errorf("the repeat of a line that stopped recurring was never told:\n%s", logs.String())
	}
}
