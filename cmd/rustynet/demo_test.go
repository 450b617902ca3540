package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

// TestDemoKeep runs `rustynet demo --keep` and governs the kept network by
// hand, as its script says: the directory holds the approvers' keys (the
// ones the script's steps name), every update, the log and the script; the
// script runs (its first governance command reads the kept log); every
// command it shows exists with the flags it gives; and its commands to go
// on propose, sign and apply a new update to the kept log.
func TestDemoKeep(t *testing.T) {
	bin := builtBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "demo", "--keep")
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir(), "XDG_STATE_HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("rustynet demo --keep: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`\nkept (.+):\n`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("demo --keep does not say where it kept the network:\n%s", out)
	}
	dir := string(m[1])
	for _, f := range []string{"approvers/alice.key", "approvers/bob.key", "approvers/carol.key", "genesis.json", "log.json",
		"updates/1-add-n4-forged.json", "updates/2-add-n4.json", "updates/3-revoke-n4.json", demo.ScriptName} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("the kept directory lacks %s: %v", f, err)
		}
	}
	script := string(readFile(t, filepath.Join(dir, demo.ScriptName)))
	sh := func(t *testing.T, text string) string {
		t.Helper()
		c := exec.CommandContext(ctx, "sh", "-eu", "-c", text)
		c.Dir = dir
		c.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("%v running\n%s\noutput:\n%s", err, text, out)
		}
		return string(out)
	}

	alice := regexp.MustCompile(`--out approvers/alice\.key +# prints (\S+)\n`).FindStringSubmatch(script)
	if alice == nil || sh(t, "rustynet key public approvers/alice.key") != alice[1]+"\n" {
		t.Errorf("approvers/alice.key is not the key the script's steps generated (%q)", alice)
	}
	if got := sh(t, "sh ./"+demo.ScriptName); !strings.Contains(got, "\nepoch:         3\n") || strings.Count(got, "ok: epoch 3 ") != 4 {
		t.Errorf("%s: want the log's status at epoch 3 and the four nodes' logs verified, got:\n%s", demo.ScriptName, got)
	}

	commands := scriptCommands(script)
	if len(commands) < 20 {
		t.Fatalf("the script shows %d commands; want every step's", len(commands))
	}
	known := map[string]map[string]bool{}
	for _, c := range commandInfos(rootCommand(), false) {
		known[c.path] = map[string]bool{}
		for _, f := range c.flags {
			known[c.path]["--"+f.Name] = true
		}
	}
	for _, line := range commands {
		words := strings.Fields(line)
		path := "rustynet"
		for len(words) > 0 && known[path+" "+words[0]] != nil {
			path, words = path+" "+words[0], words[1:]
		}
		if len(known[path]) == 0 || path == "rustynet" {
			t.Errorf("%q: not a command", line)
			continue
		}
		for _, w := range words {
			if name, _, _ := strings.Cut(w, "="); strings.HasPrefix(w, "--") && !known[path][name] {
				t.Errorf("%q: %s has no flag %s", line, path, name)
			}
		}
	}

	// Go on by hand, without the daemons: the update the script proposes
	// next is signed, reviewed and applied to the kept log.
	_, byHand, ok := strings.Cut(script, "\n# Go on by hand")
	if !ok {
		t.Fatalf("the script does not say how to go on by hand:\n%s", script)
	}
	var steps []string
	for _, l := range strings.Split(byHand, "\n") {
		l, ok := strings.CutPrefix(l, "#   ")
		if ok && !strings.Contains(l, "rustynet daemon") && !strings.Contains(l, "--socket") {
			steps = append(steps, l)
		}
	}
	sh(t, strings.Join(steps, "\n"))
	if got := sh(t, "rustynet --json membership status --from log.json"); !strings.Contains(got, `"epoch": 4`) {
		t.Errorf("after the script's next update the kept log is not at epoch 4:\n%s", got)
	}
}

// scriptCommands returns the rustynet commands a demo script shows in its
// comments and runs, each on one line without "rustynet " and without its
// comment.
func scriptCommands(script string) []string {
	var out []string
	cont := ""
	for _, l := range strings.Split(script, "\n") {
		l = strings.TrimPrefix(l, "#   ")
		if cont != "" {
			l = cont + " " + strings.TrimSpace(l)
			cont = ""
		}
		if c, ok := strings.CutSuffix(l, `\`); ok {
			cont = strings.TrimSpace(c)
			continue
		}
		if rest, ok := strings.CutPrefix(l, "rustynet "); ok {
			rest, _, _ = strings.Cut(rest, " #")
			out = append(out, strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "&")))
		}
	}
	return out
}
