package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestDemo runs `rustynet demo` exactly as the README tells a new user to:
// three real daemons with netstack backends and file stores, all plugins
// separate processes, on 127.0.0.1. It must exit 0, show every step done,
// and leave no temporary directory behind.
func TestDemo(t *testing.T) {
	bin := builtBinary(t)
	tmp := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "demo")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "XDG_STATE_HOME="+tmp)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("rustynet demo: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"n1 got \"hello from n2's web service\"",
		"THRESHOLD_NOT_MET",
		"n4 got \"hello from n2's web service\"",
		"refused, as it must be",
		"all 10 steps did what they should",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		if strings.HasPrefix(e.Name(), "rustynet-demo-") {
			t.Errorf("the demo left %s behind", e.Name())
		}
	}
}
