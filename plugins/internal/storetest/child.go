package storetest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rustynet/rustynet/hostapi"
)

// The child's part is chosen by envChild and works on the store at envDir.
const (
	envChild = "RUSTYNET_STORETEST_CHILD"
	envDir   = "RUSTYNET_STORETEST_DIR"
)

// Child modes.
const (
	childLock     = "lock"     // open once, print "result CODE", exit
	childAppend   = "append"   // print "ready", then append crash entries forever, "ack N" after each
	childSnapshot = "snapshot" // print "ready", then put crash snapshots forever, "ack K" after each
)

// childTimeout bounds every child process, so that a hung child fails the
// test instead of hanging it.
const childTimeout = 2 * time.Minute

// runChild plays a child's part and returns the exit status. It writes its
// protocol lines to stdout with one write each, so that a line the parent
// reads was written before the child went on.
func runChild(mode, dir string, newStore Factory) int {
	ctx := context.Background()
	s := newStore()
	err := s.Open(ctx, hostapi.StoreConfig{Dir: dir})
	if mode == childLock {
		fmt.Printf("result %s\n", hostapi.CodeOf(err))
		if err == nil {
			s.Close(ctx)
		}
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "child: Open: %v\n", err)
		return 1
	}
	switch mode {
	case childAppend:
		i, err := s.Head(ctx)
		fmt.Printf("ready %d\n", i)
		for err == nil {
			i++
			if err = s.Append(ctx, hostapi.LogEntry{Index: i, Data: crashEntry(i)}); err == nil {
				fmt.Printf("ack %d\n", i)
			}
		}
		fmt.Fprintf(os.Stderr, "child: %v\n", err)
	case childSnapshot:
		snap, err := s.GetSnapshot(ctx)
		if errors.Is(err, hostapi.ErrNotFound) {
			err = nil
		}
		k := snap.Index
		fmt.Printf("ready %d\n", k)
		for err == nil {
			k++
			if err = s.PutSnapshot(ctx, hostapi.Snapshot{Index: k, Data: crashSnapshot(k)}); err == nil {
				fmt.Printf("ack %d\n", k)
			}
		}
		fmt.Fprintf(os.Stderr, "child: %v\n", err)
	default:
		fmt.Fprintf(os.Stderr, "child: unknown mode %q\n", mode)
	}
	return 1
}

// childCmd returns a command that re-executes this test binary as a child
// in mode on the store at dir.
func (h *harness) childCmd(ctx context.Context, mode, dir string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+regexp.QuoteMeta(h.topTest)+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), envChild+"="+mode, envDir+"="+dir)
	return cmd
}

// runLockChild opens the store at dir in another process and returns the
// code that Open returned there.
func (h *harness) runLockChild(t *testing.T, dir string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), childTimeout)
	defer cancel()
	cmd := h.childCmd(ctx, childLock, dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\nstderr:\n%s", err, stderr.Bytes())
	}
	for line := range strings.Lines(string(out)) {
		if code, ok := strings.CutPrefix(strings.TrimSpace(line), "result "); ok {
			return code
		}
	}
	t.Fatalf("child printed no result line; stdout:\n%s\nstderr:\n%s", out, stderr.Bytes())
	return ""
}

// child is a running writer child.
type child struct {
	cmd    *exec.Cmd
	lines  chan string // closed at EOF of the child's stdout
	stderr bytes.Buffer
}

// startChild starts a writer child on the store at dir. It is killed at
// test cleanup if it still runs.
func (h *harness) startChild(t *testing.T, mode, dir string) *child {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), childTimeout)
	c := &child{cmd: h.childCmd(ctx, mode, dir), lines: make(chan string, 1024)}
	c.cmd.Stderr = &c.stderr
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start child: %v", err)
	}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		cancel()
		c.cmd.Wait()
	})
	return c
}

// killAndDrain SIGKILLs the child, waits for it and returns the protocol
// lines it printed that the caller has not received yet.
func (c *child) killAndDrain() []string {
	c.cmd.Process.Kill()
	var rest []string
	for line := range c.lines {
		rest = append(rest, line)
	}
	c.cmd.Wait()
	return rest
}
