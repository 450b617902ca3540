package hostapi

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"
)

func TestHCLogJSONHandlerSpeaksHCLog(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(newHCLogJSONHandler(&buf, LevelTrace))
	ctx := context.Background()
	log.Log(ctx, LevelTrace, "t", "k", 1)
	log.Debug("d")
	log.Info("i", slog.Group("g", "time", "not a time"))
	log.Warn("w")
	log.Error("e")
	log.Log(ctx, slog.LevelError+4, "above error")

	var gotLevels, gotMsgs []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		ts, _ := m["@timestamp"].(string)
		// go-plugin's host parses exactly this layout, or drops the line's level.
		if _, err := time.Parse("2006-01-02T15:04:05.000000Z07:00", ts); err != nil {
			t.Errorf("line %q: @timestamp: %v", line, err)
		}
		gotLevels = append(gotLevels, m["@level"].(string))
		gotMsgs = append(gotMsgs, m["@message"].(string))
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := m[k]; ok {
				t.Errorf("line %q keeps slog key %q", line, k)
			}
		}
	}
	if diff := cmp.Diff([]string{"trace", "debug", "info", "warn", "error", "error"}, gotLevels); diff != "" {
		t.Errorf("levels (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"t", "d", "i", "w", "e", "above error"}, gotMsgs); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}

// captured is one record an hclogSlog adapter wrote.
type captured struct {
	Level  string
	Msg    string
	Logger string
	K      string
}

func TestHCLogAdapterMapsLevelsAndNames(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := newHCLogger(base).Named("plugin").Named("store")
	h.Trace("dropped below debug")
	h.Debug("d", "k", "1")
	h.Info("i", "k", "2")
	h.With("k", "3").Warn("w")
	h.Error("e", "k", "4")
	h.Log(hclog.Off, "never")
	h.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Warn}).Print("std")

	var got []captured
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		c := captured{Level: m["level"].(string), Msg: m["msg"].(string), Logger: m["logger"].(string)}
		c.K, _ = m["k"].(string)
		got = append(got, c)
	}
	want := []captured{
		{"DEBUG", "d", "plugin.store", "1"},
		{"INFO", "i", "plugin.store", "2"},
		{"WARN", "w", "plugin.store", "3"},
		{"ERROR", "e", "plugin.store", "4"},
		{"WARN", "std", "plugin.store", ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if got := h.GetLevel(); got != hclog.Debug {
		t.Errorf("GetLevel() = %s, want debug", got)
	}
	if h.IsTrace() || !h.IsDebug() {
		t.Errorf("IsTrace, IsDebug = %v, %v; want false, true", h.IsTrace(), h.IsDebug())
	}
	if got := newHCLogger(slog.New(slog.DiscardHandler)).GetLevel(); got != hclog.Off {
		t.Errorf("GetLevel() of a discarding logger = %s, want off", got)
	}
}

func TestLowestEnabledLevelRoundTrips(t *testing.T) {
	tests := []struct {
		level slog.Level
		want  string
	}{
		{LevelTrace, "trace"},
		{slog.LevelDebug, "debug"},
		{slog.LevelInfo, "info"},
		{slog.LevelWarn, "warn"},
		{slog.LevelError, "error"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			l := slog.New(slog.NewTextHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: tt.level}))
			got := lowestEnabledLevel(l)
			if got != tt.want {
				t.Fatalf("lowestEnabledLevel = %q, want %q", got, tt.want)
			}
			if back, ok := levelFromName(got); !ok || back != tt.level {
				t.Errorf("levelFromName(%q) = %v, %v; want %v", got, back, ok, tt.level)
			}
		})
	}
	if got := lowestEnabledLevel(slog.New(slog.DiscardHandler)); got != "off" {
		t.Errorf("discarding logger: got %q, want off", got)
	}
}
