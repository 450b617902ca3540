package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
	"github.com/rustynet/rustynet/internal/poll"
)

// The soak and chaos test: a 3-node netstack mesh (two file stores, one
// SQLite store) takes a continuous stream of membership updates and
// status reads while its store plugins, backend plugins and daemons are
// killed with SIGKILL at random. Its pass criterion is that no
// acknowledged update is lost: every update a node acknowledged is still
// there after every crash, and at the end every node holds every update
// (missed ones are re-sent, as an operator or a feed would), each log
// verifies (`rustynet membership verify-log`), the data plane matches the
// membership, no process outlives its daemon, and every process stays
// within soakMaxRSS. Its figures go to a JSON report (soakReportEnv).
//
// It runs only when soakDurationEnv is set (scripts/test.sh runs it for
// two minutes), so that `go test ./...` stays quick.
const (
	soakDurationEnv = "RUSTYNET_SOAK_DURATION"
	soakReportEnv   = "RUSTYNET_SOAK_REPORT" // default ../artifacts/soak/soak_chaos_report.json
	// soakMaxRSS bounds each daemon and plugin process at the end: a node
	// of this size needs 25-55 MiB per process here, so this catches a
	// leak that grows with the updates applied or the restarts survived.
	soakMaxRSS = 128 << 20
	// soakMaxBacklog bounds how far the approvers run ahead of the
	// slowest node, so that a node that is down is not flooded on return.
	soakMaxBacklog = 64
	// soakCallTimeout bounds one control API call during the chaos.
	soakCallTimeout = 10 * time.Second
)

// soakReport is what the test writes to its JSON report.
type soakReport struct {
	Duration         string                    `json:"duration"`
	Nodes            []string                  `json:"nodes"`
	Updates          uint64                    `json:"updates"`            // committed by the approvers, after the genesis
	Applies          uint64                    `json:"applies"`            // acknowledged by a node's control API
	ApplyErrors      uint64                    `json:"apply_errors"`       // refused or failed while something was down
	StatusReads      uint64                    `json:"status_reads"`       // answered
	StatusErrors     uint64                    `json:"status_errors"`      // not answered while something was down
	KillEvery        string                    `json:"kill_every"`         // one SIGKILL of a random process of a random node, this often
	Kills            map[string]int            `json:"kills"`              // by target: store, backend, daemon
	RecoveryMillis   map[string]latencySummary `json:"recovery_ms"`        // kill → the node's next acknowledged update
	FinalRSSKiB      map[string]int            `json:"final_rss_kib"`      // per process, at the end
	MaxRSSKiB        int                       `json:"max_rss_bound_kib"`  // the bound each must stay within
	LostAcknowledged int                       `json:"lost_acknowledged"`  // the pass criterion: 0
	VerifyLog        map[string]string         `json:"verify_log"`         // per node: ok, or why not
	LeakedProcesses  []int                     `json:"leaked_processes"`   // must be empty
	DataPlaneMatches bool                      `json:"data_plane_matches"` // peers = active members, traffic flows
}

type latencySummary struct {
	N   int   `json:"n"`
	P50 int64 `json:"p50"`
	P95 int64 `json:"p95"`
	Max int64 `json:"max"`
}

func summarize(ds []time.Duration) latencySummary {
	if len(ds) == 0 {
		return latencySummary{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) int64 { return s[min(len(s)-1, int(q*float64(len(s))))].Milliseconds() }
	return latencySummary{N: len(s), P50: at(0.50), P95: at(0.95), Max: s[len(s)-1].Milliseconds()}
}

// soakNode is one node's state as the test tracks it.
type soakNode struct {
	n      *Node
	cfg    NodeConfig
	epoch  uint64    // as last seen
	acked  uint64    // the highest epoch it acknowledged
	killed time.Time // when the last kill of this node's processes was; zero once it recovered
	target string    // what that kill hit
	pids   []int     // every daemon and plugin process seen
}

func TestSoakChaos(t *testing.T) {
	durText := os.Getenv(soakDurationEnv)
	if durText == "" {
		t.Skipf("set %s (e.g. 2m) to run the soak and chaos test; scripts/test.sh does", soakDurationEnv)
	}
	duration, err := time.ParseDuration(durText)
	if err != nil || duration <= 0 {
		t.Fatalf("%s=%q: want a positive duration", soakDurationEnv, durText)
	}
	c := newCluster(t, Options{Members: []string{"n1", "n2", "n3"}})
	nodes := []*soakNode{
		{n: c.Node("n1"), cfg: NodeConfig{Store: "file"}},
		{n: c.Node("n2"), cfg: NodeConfig{Store: "sqlite"}},
		{n: c.Node("n3"), cfg: NodeConfig{Store: "file"}},
	}
	for _, sn := range nodes {
		sn.n.Start(sn.cfg)
		sn.epoch, sn.acked = 1, 1
		sn.seePIDs(t)
	}
	nodes[0].n.WaitReach(nodes[1].n, reachWithin)
	nodes[1].n.WaitReach(nodes[2].n, reachWithin)

	rep := soakReport{Duration: duration.String(), KillEvery: "3-6s", Kills: map[string]int{}, RecoveryMillis: map[string]latencySummary{},
		FinalRSSKiB: map[string]int{}, MaxRSSKiB: soakMaxRSS >> 10, VerifyLog: map[string]string{}, LeakedProcesses: []int{}}
	for _, sn := range nodes {
		rep.Nodes = append(rep.Nodes, sn.n.ID+" ("+sn.cfg.Store+" store)")
	}

	// Status readers, one per node, for the whole run.
	var reads, readErrors atomic.Uint64
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for _, sn := range nodes {
		readers.Add(1)
		go func() {
			defer readers.Done()
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				ctx, cancel := context.WithTimeout(context.Background(), soakCallTimeout)
				_, err := sn.n.Client().Status(ctx)
				cancel()
				if err != nil {
					readErrors.Add(1)
				} else {
					reads.Add(1)
				}
			}
		}()
	}
	stopReaders := sync.OnceFunc(func() {
		close(stop)
		readers.Wait()
	})
	t.Cleanup(stopReaders)

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x50a4))
	recoveries := map[string][]time.Duration{}
	var extras []string // extra members added and not yet removed
	nextExtra := 0
	propose := func() {
		var op membership.Operation
		if len(extras) > 16 && rng.IntN(10) < 4 {
			i := rng.IntN(len(extras))
			op = membership.Operation{Type: membership.OpRemoveNode, NodeID: extras[i]}
			extras = slices.Delete(extras, i, i+1)
		} else {
			id := fmt.Sprintf("s%05d", nextExtra)
			op = membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node(id, extraBase+nextExtra)}
			extras = append(extras, id)
			nextExtra++
		}
		c.Commit(c.Sign(c.Propose(op), "a1", "a2"))
	}
	// catchUp sends sn every committed update it lacks, in order, until one
	// fails; it reports whether sn is at the head.
	catchUp := func(sn *soakNode) bool {
		log := c.Log()
		for sn.epoch < uint64(len(log)) {
			u := log[sn.epoch]
			ctx, cancel := context.WithTimeout(context.Background(), soakCallTimeout)
			res, err := sn.n.Client().ApplyUpdate(ctx, u.Encode(), false)
			cancel()
			if err != nil {
				rep.ApplyErrors++
				sn.refresh(t) // it may have applied it before the answer was lost
				return false
			}
			rep.Applies++
			sn.epoch, sn.acked = res.Epoch, max(sn.acked, res.Epoch)
			if !sn.killed.IsZero() {
				recoveries[sn.target] = append(recoveries[sn.target], time.Since(sn.killed))
				sn.killed = time.Time{}
			}
		}
		return true
	}
	kill := func(sn *soakNode) {
		targets := []string{"store", "backend", "daemon"}
		target := targets[rng.IntN(len(targets))]
		switch target {
		case "daemon":
			sn.seePIDs(t)
			sn.killed, sn.target = time.Now(), target
			sn.n.Kill() // checks that its plugins exit with it
			sn.n.Start(sn.cfg)
			sn.seePIDs(t)
			st := sn.n.Status()
			if st.Trust.Restricted || st.Trust.Epoch < sn.acked {
				rep.LostAcknowledged += int(sn.acked - min(sn.acked, st.Trust.Epoch))
				t.Errorf("%s after a SIGKILL of its daemon: epoch %d (restricted %v: %s), but it had acknowledged epoch %d",
					sn.n.ID, st.Trust.Epoch, st.Trust.Restricted, st.Trust.Reason, sn.acked)
			}
			sn.epoch = st.Trust.Epoch
		default:
			kind := "backend-netstack"
			if target == "store" {
				kind = "store-" + sn.cfg.Store
			}
			pid := sn.n.PluginPID(kind, 0)
			sn.pids = append(sn.pids, pid)
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatalf("killing %s's %s plugin %d: %v", sn.n.ID, kind, pid, err)
			}
			sn.killed, sn.target = time.Now(), target
		}
		rep.Kills[target]++
	}

	deadline := time.Now().Add(duration)
	nextKill := time.Now().Add(time.Duration(2000+rng.IntN(3000)) * time.Millisecond)
	tick := time.NewTicker(100 * time.Millisecond)
	for time.Now().Before(deadline) {
		<-tick.C
		if time.Now().After(nextKill) {
			kill(nodes[rng.IntN(len(nodes))])
			nextKill = time.Now().Add(time.Duration(3000+rng.IntN(3000)) * time.Millisecond)
		}
		slowest := uint64(len(c.Log()))
		for _, sn := range nodes {
			slowest = min(slowest, sn.epoch)
		}
		if uint64(len(c.Log()))-slowest < soakMaxBacklog {
			propose()
		}
		for _, sn := range nodes {
			catchUp(sn)
		}
	}
	tick.Stop()

	// Every node takes every update it missed.
	head := uint64(len(c.Log()))
	for _, sn := range nodes {
		if err := poll.Until(2*time.Minute, 100*time.Millisecond, func() bool { return catchUp(sn) }); err != nil {
			t.Errorf("%s did not catch up with epoch %d: %v (it is at %d); its log ends:\n%s", sn.n.ID, head, err, sn.epoch, sn.n.LogTail())
		}
		st := sn.n.Status()
		if st.Trust.Restricted || st.Trust.Epoch < sn.acked {
			rep.LostAcknowledged += int(sn.acked - min(sn.acked, st.Trust.Epoch))
			t.Errorf("%s at the end: epoch %d (restricted %v), but it acknowledged epoch %d", sn.n.ID, st.Trust.Epoch, st.Trust.Restricted, sn.acked)
		}
		if st.Trust.Epoch != head || st.Trust.StateRoot != c.State().Root().String() {
			t.Errorf("%s at the end: epoch %d root %s, want epoch %d root %s", sn.n.ID, st.Trust.Epoch, st.Trust.StateRoot, head, c.State().Root())
		}
	}
	stopReaders()
	rep.Updates, rep.StatusReads, rep.StatusErrors = head-1, reads.Load(), readErrors.Load()
	for target, ds := range recoveries {
		rep.RecoveryMillis[target] = summarize(ds)
	}
	var all []time.Duration
	for _, ds := range recoveries {
		all = append(all, ds...)
	}
	rep.RecoveryMillis["all"] = summarize(all)

	// The data plane matches the membership: every node has exactly the
	// other active members as peers, and traffic flows around the ring.
	rep.DataPlaneMatches = true
	for _, sn := range nodes {
		want := activeMembersBut(c.State(), sn.n.ID)
		var got []string
		if err := poll.Until(time.Minute, 100*time.Millisecond, func() bool {
			got = PeerIDs(sn.n.Status())
			return slices.Equal(got, want)
		}); err != nil {
			rep.DataPlaneMatches = false
			t.Errorf("%s's peers do not match the membership (-want +got):\n%s", sn.n.ID, cmp.Diff(want, got))
		}
	}
	for i, sn := range nodes {
		to := nodes[(i+1)%len(nodes)].n
		if err := poll.Until(reachWithin, 50*time.Millisecond, func() bool { _, err := sn.n.Fetch(to, 2*time.Second); return err == nil }); err != nil {
			rep.DataPlaneMatches = false
			t.Errorf("%s cannot reach %s through the mesh after the chaos", sn.n.ID, to.ID)
		}
	}

	// Memory at the end, then an orderly stop and an offline check of
	// every log.
	for _, sn := range nodes {
		sn.seePIDs(t)
		for _, pid := range append([]int{sn.n.PID()}, mustChildren(t, sn.n.PID())...) {
			name := fmt.Sprintf("%s %s (pid %d)", sn.n.ID, processName(pid), pid)
			kib := rssKiB(t, pid)
			rep.FinalRSSKiB[name] = kib
			if kib > soakMaxRSS>>10 {
				t.Errorf("%s uses %d KiB, over the %d KiB bound", name, kib, soakMaxRSS>>10)
			}
		}
	}
	for _, sn := range nodes {
		sn.n.Stop()
		out, err := exec.Command(c.opts.Bin, "membership", "verify-log", "--state-dir", sn.n.StateDir, "--high-water", sn.n.HighWater,
			"--genesis-root", c.GenesisRoot.String(), "--json").CombinedOutput()
		var o struct {
			Result string `json:"result"`
			Epoch  uint64 `json:"epoch"`
			Store  string `json:"store"`
		}
		switch {
		case err != nil:
			rep.VerifyLog[sn.n.ID] = fmt.Sprintf("failed: %v: %s", err, out)
		case json.Unmarshal(out, &o) != nil || o.Result != "ok" || o.Epoch != head || o.Store != sn.cfg.Store:
			rep.VerifyLog[sn.n.ID] = fmt.Sprintf("unexpected report %s", out)
		default:
			rep.VerifyLog[sn.n.ID] = fmt.Sprintf("ok: epoch %d (%s store)", o.Epoch, o.Store)
			continue
		}
		t.Errorf("verify-log of %s: %s", sn.n.ID, rep.VerifyLog[sn.n.ID])
	}
	for _, sn := range nodes {
		for _, pid := range sn.pids {
			if alive(pid) {
				rep.LeakedProcesses = append(rep.LeakedProcesses, pid)
			}
		}
	}
	if len(rep.LeakedProcesses) > 0 {
		t.Errorf("processes outlived their daemons: %v", rep.LeakedProcesses)
	}
	if rep.LostAcknowledged != 0 {
		t.Errorf("%d acknowledged updates were lost", rep.LostAcknowledged)
	}
	writeSoakReport(t, rep)
}

// refresh reads sn's epoch from its status, if it answers.
func (sn *soakNode) refresh(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), soakCallTimeout)
	defer cancel()
	if st, err := sn.n.Client().Status(ctx); err == nil {
		sn.epoch = st.Trust.Epoch
	}
}

// seePIDs records the node's daemon and plugin processes, for the leak
// check at the end.
func (sn *soakNode) seePIDs(t *testing.T) {
	pid := sn.n.PID()
	if pid == 0 {
		return
	}
	for _, p := range append([]int{pid}, mustChildren(t, pid)...) {
		if !slices.Contains(sn.pids, p) {
			sn.pids = append(sn.pids, p)
			track(p)
		}
	}
}

func mustChildren(t *testing.T, pid int) []int {
	kids, err := children(pid)
	if err != nil {
		t.Fatalf("children of %d: %v", pid, err)
	}
	return kids
}

// activeMembersBut returns the ids of the active members of state other
// than self, sorted.
func activeMembersBut(state *membership.State, self string) []string {
	var ids []string
	for n := range state.Nodes() {
		if n.ID != self && n.Status == membership.StatusActive {
			ids = append(ids, n.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// rssKiB returns a process's resident set size.
func rssKiB(t *testing.T, pid int) int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("reading the memory of %d: %v", pid, err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kib, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				t.Fatalf("process %d: VmRSS %q", pid, rest)
			}
			return kib
		}
	}
	t.Fatalf("process %d has no VmRSS", pid)
	return 0
}

// processName describes a process: "daemon" or the plugin it serves.
func processName(pid int) string {
	args, err := cmdline(pid)
	if err != nil || len(args) < 2 {
		return "?"
	}
	if args[1] == "daemon" {
		return "daemon"
	}
	return args[len(args)-1]
}

func writeSoakReport(t *testing.T, rep soakReport) {
	path := os.Getenv(soakReportEnv)
	if path == "" {
		path = filepath.Join("..", "artifacts", "soak", "soak_chaos_report.json")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("soak report (%s):\n%s", path, data)
}
