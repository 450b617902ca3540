package e2e

import (
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// TestConfigErrorsExitTwoNamingFileAndLine starts the daemon with
// configurations holding one mistake each. It must refuse to start with
// exit status 2 (usage/input error) and name the file and the line of the
// mistake on standard error, before creating any state.
func TestConfigErrorsExitTwoNamingFileAndLine(t *testing.T) {
	t.Parallel()
	c := newCluster(t, Options{Members: []string{"n1"}})
	tests := []struct {
		name  string
		extra string // appended to a valid configuration, after [log]
		line  int    // the line of extra the error must name, 1-based
		key   string // what the error must name
	}{
		{"unknown key", "colour = \"blue\"\n", 1, "colour"},
		{"unknown table", "\n[tunnel]\nkind = \"wg\"\n", 2, "tunnel"},
		{"unknown key in an array table", "\n[[proxy.forward]]\nlisten = \"127.0.0.1:18081\"\ntarget = \"100.64.0.2:80\"\nretries = 3\n", 5, "retries"},
		{"bad value", "\n[[proxy.forward]]\nlisten = \"127.0.0.1:18081\"\ntarget = \"0.0.0.0:80\"\n", 4, "target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := c.Node("n1")
			if err := os.RemoveAll(n.Dir); err != nil {
				t.Fatal(err)
			}
			code, stderr := n.Exec(NodeConfig{Extra: tt.extra}, time.Minute)
			text := n.ConfigText()
			line := strings.Count(strings.TrimSuffix(text, tt.extra), "\n") + tt.line
			if code != 2 {
				t.Errorf("exit status %d, want 2; stderr:\n%s", code, stderr)
			}
			if want := fmt.Sprintf("%s:%d:", n.Config, line); !strings.Contains(stderr, want) || !strings.Contains(stderr, tt.key) {
				t.Errorf("stderr does not name %q and %q:\n%s\nconfiguration:\n%s", want, tt.key, stderr, numbered(text))
			}
			if _, err := os.Stat(n.StateDir); err == nil {
				t.Errorf("the daemon created its state directory despite the bad configuration")
			}
		})
	}
}

// numbered returns text with line numbers, for failure messages.
func numbered(text string) string {
	var b strings.Builder
	for i, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		fmt.Fprintf(&b, "%3d  %s\n", i+1, l)
	}
	return b.String()
}

// TestStartFailureExitsCleanly starts a daemon whose only backend cannot
// be set up (its SOCKS5 port is taken): daemon.Start fails after it has
// launched plugins, so it must stop them, and the command must exit with
// status 2 (a USAGE error: the configuration names an address another
// program holds) naming the key — not crash.
func TestStartFailureExitsCleanly(t *testing.T) {
	t.Parallel()
	c := newCluster(t, Options{Members: []string{"n1"}})
	n1 := c.Node("n1")
	taken, err := net.Listen("tcp", n1.SOCKS)
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	code, stderr := n1.Exec(NodeConfig{}, time.Minute)
	if code != 2 || strings.Contains(stderr, "panic:") || !strings.Contains(stderr, "error: USAGE: ") ||
		!strings.Contains(stderr, "proxy.socks5: "+n1.SOCKS+" is in use by another program") {
		t.Errorf("exit status %d, want 2 (USAGE) naming proxy.socks5 and no panic; stderr ends:\n%s", code, lastLines(stderr, 25))
	}
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
