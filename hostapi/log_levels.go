package hostapi

import (
	"context"
	"log/slog"
	"strings"
)

// LevelTrace is the slog level of hclog's TRACE, below slog.LevelDebug. A
// host logger enabled at LevelTrace receives go-plugin's and plugins' trace
// lines.
const LevelTrace = slog.LevelDebug - 4

// levelOff is a level above every level a logger records.
const levelOff = slog.LevelError + 64

// hclogLevelName returns the hclog JSON "@level" name of an slog level.
func hclogLevelName(l slog.Level) string {
	switch {
	case l < slog.LevelDebug:
		return "trace"
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warn"
	default:
		return "error"
	}
}

// levelFromName parses an hclog level name ("trace" … "error", or "off").
func levelFromName(s string) (slog.Level, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "trace":
		return LevelTrace, true
	case "debug":
		return slog.LevelDebug, true
	case "info":
		return slog.LevelInfo, true
	case "warn":
		return slog.LevelWarn, true
	case "error":
		return slog.LevelError, true
	case "off":
		return levelOff, true
	}
	return 0, false
}

// lowestEnabledLevel returns the name of the lowest level l records, or
// "off"; a host passes it to its plugins so they do not format lines the
// host would drop.
func lowestEnabledLevel(l *slog.Logger) string {
	for _, lvl := range []slog.Level{LevelTrace, slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
		if l.Enabled(context.Background(), lvl) {
			return hclogLevelName(lvl)
		}
	}
	return "off"
}
