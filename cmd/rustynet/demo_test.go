package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rustynet/rustynet/cmd/rustynet/internal/demo"
	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
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

// TestDemoErrors pins the code and exit status the command gives each kind
// of error the demo package returns: the same as the CLI gives the same
// failure elsewhere.
func TestDemoErrors(t *testing.T) {
	verdict := &membership.Error{Code: membership.ThresholdNotMet, Msg: "1 of 2 approver signatures"}
	type report struct {
		code string
		exit int
		msg  string
	}
	tests := []struct {
		name string
		err  error
		want report
	}{
		{"temporary directory", &demo.Error{Kind: demo.TempDir, What: "creating the temporary directory", Err: errors.New("mkdirtemp /x/rustynet-demo-*: no such file or directory")},
			report{codeIO, exitIO, "mkdirtemp /x/rustynet-demo-*: no such file or directory"}},
		{"engine refused what the demo built", &demo.Error{Kind: demo.Refused, What: "proposal", Err: verdict},
			report{string(membership.ThresholdNotMet), exitRejected, "proposal: 1 of 2 approver signatures"}},
		{"daemon's verdict", &demo.Error{Kind: demo.Daemon, What: "n4 refused the update", Err: verdict},
			report{string(membership.ThresholdNotMet), exitRejected, "n4 refused the update: 1 of 2 approver signatures"}},
		{"daemon unavailable", &demo.Error{Kind: demo.Daemon, What: "status of n2", Err: &controlapi.Error{Code: controlapi.CodeUnavailable, Message: "busy"}},
			report{codeUnavailable, exitIO, "status of n2: busy"}},
		{"daemon unreachable", &demo.Error{Kind: demo.Daemon, What: "status of n2", Err: errors.New("connection refused")},
			report{codeIO, exitIO, "status of n2: connection refused"}},
		{"the demo's own failure", errors.New("n4 still reached n2 after its revocation"),
			report{codeInternal, exitIO, "n4 still reached n2 after its revocation"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ce := asCLIError(demoError(tt.err))
			if got := (report{ce.code, ce.exit, ce.msg}); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
