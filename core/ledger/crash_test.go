package ledger

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
	"github.com/rustynet/rustynet/internal/crashtest"
)

// The crash child: when this variable is set, TestMain runs crashChild
// instead of the tests. It holds "kind|state dir|high-water path|log file".
const crashChildEnv = "RUSTYNET_LEDGER_CRASH_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(crashChildEnv); spec != "" {
		os.Exit(crashChild(spec))
	}
	os.Exit(m.Run())
}

// crashChild opens the ledger, prints "ready", then applies every update of
// the log file beyond its head, printing "applied N" after each Apply
// returns. The parent kills it at a random moment.
func crashChild(spec string) int {
	parts := strings.Split(spec, "|")
	kind, dir, hw, logPath := parts[0], parts[1], parts[2], parts[3]
	data, err := os.ReadFile(logPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	log, err := membership.ParseLog(data, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	ctx := context.Background()
	s := newStore(kind)
	if err := s.Open(ctx, storeConfig(dir)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	l, err := Open(ctx, Config{Store: s, StateDir: dir, HighWaterPath: hw, GenesisRoot: log[0].Body.NewStateRoot,
		Now: func() time.Time { return membershiptest.Epoch0 }, SnapshotEvery: 3})
	if err != nil || l.Restricted() != nil {
		fmt.Fprintln(os.Stderr, "open:", err, l.Restricted())
		return 3
	}
	fmt.Println("ready")
	for i := l.Status().Head; i < uint64(len(log)); i++ {
		if _, err := l.Apply(ctx, log[i]); err != nil {
			fmt.Fprintln(os.Stderr, "apply:", err)
			return 3
		}
		fmt.Println("applied", i+1)
	}
	l.Close(ctx)
	return 0
}

// TestCrashConsistency kills the writing process with SIGKILL at random
// moments while it applies updates, and checks after every kill that the
// reopened ledger verifies cleanly and holds exactly the acknowledged state
// or the one after it. RUSTYNET_CRASH_ITERATIONS sets the number of kills
// per store (default 20, 3 with -short; CI runs 200).
func TestCrashConsistency(t *testing.T) {
	iterations := crashtest.Iterations(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
			var run *crashRun
			kills, torn := 0, 0
			for kills < iterations {
				if run == nil || run.done() {
					run = newCrashRun(t, 24)
				}
				acked, killed := run.step(t, exe, kind, time.Duration(rng.IntN(6000))*time.Microsecond)
				if !killed {
					continue
				}
				kills++
				head := run.check(t, kind, acked)
				if head == acked+1 {
					torn++ // the kill landed after the write but before the acknowledgement
				}
			}
			t.Logf("%d kills; %d landed between a durable append and its acknowledgement", kills, torn)
		})
	}
}

// crashRun is one ledger directory being driven through a fixed log.
type crashRun struct {
	dir, hw, logPath string
	roots            []membership.Hash // roots[i] = root after i+1 updates
	head             uint64
}

func newCrashRun(t *testing.T, updates int) *crashRun {
	t.Helper()
	net := membershiptest.New(t, 2)
	for i := 0; i < updates-1; i++ {
		u := net.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node(membershiptest.NodeID(100+i), 100+i)})
		net.MustApply(t, net.Sign(t, u, "alice", "carol"))
	}
	root := t.TempDir()
	r := &crashRun{dir: filepath.Join(root, "state"), hw: filepath.Join(root, "hw.json"), logPath: filepath.Join(root, "log.json")}
	replay := membership.NewChain("test")
	for _, u := range net.Log {
		if _, err := replay.Apply(u, membership.Options{History: true}); err != nil {
			t.Fatal(err)
		}
		r.roots = append(r.roots, replay.State().Root())
	}
	if err := os.WriteFile(r.logPath, membership.EncodeLog(net.Log), 0o600); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *crashRun) done() bool { return r.head == uint64(len(r.roots)) }

// step starts the child, waits until it is ready, lets it run for delay and
// kills it (unless it finished first). It returns the last acknowledged
// head and whether the child was killed.
func (r *crashRun) step(t *testing.T, exe, kind string, delay time.Duration) (uint64, bool) {
	t.Helper()
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+strings.Join([]string{kind, r.dir, r.hw, r.logPath}, "|"))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	acked := r.head
	parse := func(line string) {
		if n, ok := strings.CutPrefix(line, "applied "); ok {
			acked, _ = strconv.ParseUint(n, 10, 64)
		}
	}
	var timer <-chan time.Time // armed once the child is ready
	killed := false
loop:
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				break loop // the child finished before the kill
			}
			if line == "ready" && timer == nil {
				timer = time.After(delay)
			}
			parse(line)
		case <-timer:
			cmd.Process.Kill()
			killed = true
			break loop
		}
	}
	// Lines the child wrote before it died were acknowledged writes.
	for line := range lines {
		parse(line)
	}
	err = cmd.Wait()
	if !killed && err != nil {
		t.Fatalf("crash child failed on its own: %v", err)
	}
	if !killed {
		r.head = acked
	}
	return acked, killed
}

// check reopens the ledger after a kill and verifies it holds the
// acknowledged state or the next one, exactly.
func (r *crashRun) check(t *testing.T, kind string, acked uint64) uint64 {
	t.Helper()
	ctx := context.Background()
	s := newStore(kind)
	if err := s.Open(ctx, storeConfig(r.dir)); err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close(ctx)
	l, err := Open(ctx, Config{Store: s, StateDir: r.dir, HighWaterPath: r.hw, GenesisRoot: r.roots[0]})
	if err != nil {
		t.Fatalf("ledger open after kill: %v", err)
	}
	if err := l.Restricted(); err != nil {
		t.Fatalf("after a kill with %d acknowledged, the ledger is restricted: %v", acked, err)
	}
	st := l.Status()
	if st.Head != acked && st.Head != acked+1 {
		t.Fatalf("after a kill with %d acknowledged, the head is %d (want %d or %d)", acked, st.Head, acked, acked+1)
	}
	if st.Head > 0 && st.Root != r.roots[st.Head-1] {
		t.Fatalf("head %d has root %s, want %s", st.Head, st.Root, r.roots[st.Head-1])
	}
	r.head = st.Head
	return st.Head
}
