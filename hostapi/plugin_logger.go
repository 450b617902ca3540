package hostapi

import (
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

// pluginStderr is the process's stderr as it was at start-up. go-plugin
// replaces os.Stderr with a pipe once serving starts; plugin logs must reach
// the original, which the host reads and re-levels line by line.
var pluginStderr = os.Stderr

// hclogTimeFormat is the "@timestamp" layout go-plugin's host side parses.
const hclogTimeFormat = "2006-01-02T15:04:05.000000Z07:00"

// PluginLogger returns the logger plugin code logs with. It writes one JSON
// object per line to the plugin's original stderr, in hclog's form
// ("@level", "@message", "@timestamp", then the attributes), which the
// host's go-plugin client parses so that each line lands in the host's log
// at the level the plugin chose. Its minimum level is the one the host asked
// for when launching the plugin (the lowest level its logger records), Info
// if none was given. Every call returns the same logger; it is safe for
// concurrent use, before and during ServeStore or ServeBackend. Plugins log
// only through it (or stderr), never to stdout.
func PluginLogger() *slog.Logger { return pluginLogger() }

var pluginLogger = sync.OnceValue(func() *slog.Logger {
	level := slog.LevelInfo
	if l, ok := levelFromName(os.Getenv(envLogLevel)); ok {
		level = l
	}
	return slog.New(newHCLogJSONHandler(pluginStderr, level))
})

// newHCLogJSONHandler returns an slog handler writing hclog-style JSON lines.
func newHCLogJSONHandler(w io.Writer, level slog.Leveler) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: hclogAttr})
}

// hclogAttr renames slog's built-in keys to hclog's.
func hclogAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.TimeKey:
		if t, ok := a.Value.Any().(time.Time); ok {
			return slog.String("@timestamp", t.Format(hclogTimeFormat))
		}
	case slog.LevelKey:
		if l, ok := a.Value.Any().(slog.Level); ok {
			return slog.String("@level", hclogLevelName(l))
		}
	case slog.MessageKey:
		return slog.Attr{Key: "@message", Value: a.Value}
	}
	return a
}
