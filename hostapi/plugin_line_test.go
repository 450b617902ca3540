package hostapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// TestPluginLinesCarryOneTime feeds the adapter a plugin line as go-plugin
// re-levels it (the plugin's attributes in map order, then "timestamp"):
// the host's record takes the plugin's time, has no second time field and
// lists the attributes sorted; other calls keep their arguments.
func TestPluginLinesCarryOneTime(t *testing.T) {
	var buf bytes.Buffer
	h := newHCLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))).Named("rustynet plugin store-file")
	at := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	h.Info("file store opened", "head", 3, "dir", "/var/lib/rustynet/state", "timestamp", at.Format(hclog.TimeFormat))
	h.Warn("not a plugin line", "timestamp", "yesterday", "k", "v")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2:\n%s", len(lines), buf.String())
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first["time"] != "2026-01-02T03:04:05.006Z" || first["timestamp"] != nil {
		t.Errorf("plugin line %s: want the plugin's time as the record's and no timestamp field", lines[0])
	}
	if i, j := strings.Index(lines[0], `"dir"`), strings.Index(lines[0], `"head"`); i < 0 || j < i {
		t.Errorf("plugin line %s: want its attributes sorted (dir before head)", lines[0])
	}
	if first["logger"] != "rustynet plugin store-file" || first["msg"] != "file store opened" {
		t.Errorf("plugin line %s: want its logger and message", lines[0])
	}
	if !strings.Contains(lines[1], `"timestamp":"yesterday"`) || !strings.Contains(lines[1], `"k":"v"`) {
		t.Errorf("other line %s: want its arguments kept", lines[1])
	}
}
