package daemonlog

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPriorityPrefixes(t *testing.T) {
	for _, jsonLines := range []bool{false, true} {
		var buf bytes.Buffer
		log := New(&buf, Options{Level: slog.LevelDebug, JSON: jsonLines, Priority: true}).With("node", "n1")
		log.Debug("d")
		log.Info("i", "k", "multi\nline")
		log.Warn("w")
		log.WithGroup("g").Error("e", "k", 1)
		var prefixes []string
		for _, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
			prefixes = append(prefixes, line[:3])
			if jsonLines {
				var m map[string]any
				if err := json.Unmarshal([]byte(line[3:]), &m); err != nil {
					t.Errorf("line %q is not JSON after its prefix: %v", line, err)
				}
			}
			if !strings.Contains(line, "n1") {
				t.Errorf("line %q lost the logger's attributes", line)
			}
		}
		if diff := cmp.Diff([]string{"<7>", "<6>", "<4>", "<3>"}, prefixes); diff != "" {
			t.Errorf("json %v: prefixes (-want +got):\n%s\n%s", jsonLines, diff, buf.String())
		}
	}
}

func TestNoPrefixOffTheJournal(t *testing.T) {
	var buf bytes.Buffer
	New(&buf, Options{Level: slog.LevelInfo, JSON: true}).Info("hello")
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil || m["msg"] != "hello" || m["level"] != "INFO" {
		t.Errorf("got %q (%v), want one JSON object with msg and level", buf.String(), err)
	}
}
