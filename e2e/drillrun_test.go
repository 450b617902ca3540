package e2e

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/audit"
	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/evidence"
	"github.com/rustynet/rustynet/internal/poll"
	"github.com/rustynet/rustynet/internal/runbook"
)

// drill is one runbook of docs/operations performed on a local mesh of
// real daemons (netstack on 127.0.0.1, no root), exactly as its command
// blocks say: the runbook's text is the source of truth, and the drill
// only builds the world the runbook assumes, runs its blocks where they
// say (internal/runbook), checks what the runbook promises between them,
// and keeps the evidence (internal/evidence).
type drill struct {
	name string // docs/operations/NAME.md, scripts/drills/NAME.sh
	// members are the genesis's nodes, all started; target is the node
	// the runbook is about (on=node; $TARGET).
	members []string
	target  string
	// approvers and threshold of the genesis (a1 is the owner);
	// signers are the approvers whose turn on=approver blocks take, in
	// order; their keys are keys/ID.key in the work directory (written
	// there for the genesis's approvers, made by the runbook for others).
	approvers int
	threshold uint64
	signers   []string
	// signersFor overrides signers for the on=approver block with that id.
	signersFor map[string][]string
	// env returns the runbook's other variables.
	env func(r *drillRun) map[string]string
	// before runs once the mesh is up; hooks run after the block with
	// that id (all its turns); after runs once the blocks are done.
	before, after func(r *drillRun)
	hooks         map[string]func(r *drillRun)
}

// drillRun is one drill in progress.
type drillRun struct {
	t     *testing.T
	d     drill
	c     *Cluster
	work  string // the coordinator's and approvers' working directory ($WORK)
	feed  string // the feed directory the nodes poll ($FEED)
	bin   string // a directory holding `rustynet`, first on PATH
	build string // the rustynet binary this test run built
	cfg   map[string]NodeConfig
	ev    *evidence.Drill
	start time.Time
	// finished is when each block id last finished.
	finished map[string]time.Time
	// refusal is the watch of a revocation drill (watchRefusal).
	refusal *refusalWatch
	out     string // where the evidence goes ("" : a temporary directory)
	done    bool   // finish has run
}

// drillFeedInterval is the nodes' feed polling interval in the drills:
// slower than the e2e default, so that pushing an update to each node's
// control API — what the emergency runbooks do — is what the timings
// measure, as in production (whose default is 5 s).
const drillFeedInterval = 2 * time.Second

// runDrill performs d and writes its evidence to $RUSTYNET_DRILL_EVIDENCE
// (if set), whatever the outcome.
func runDrill(t *testing.T, d drill) {
	if testing.Short() {
		t.Skip("-short: no real daemons (scripts/drills/run.sh runs every drill)")
	}
	md, err := os.ReadFile(filepath.Join("..", "docs", "operations", d.name+".md"))
	if err != nil {
		t.Fatal(err)
	}
	rb, err := runbook.Parse(md)
	if err != nil {
		t.Fatalf("docs/operations/%s.md: %v", d.name, err)
	}
	r := &drillRun{t: t, d: d, start: time.Now(), cfg: map[string]NodeConfig{}, finished: map[string]time.Time{},
		ev: &evidence.Drill{Name: d.name, Runbook: "docs/operations/" + d.name + ".md", Started: time.Now().UTC(),
			Steps: []evidence.Step{}, Measurements: map[string]float64{}}}
	r.out = os.Getenv("RUSTYNET_DRILL_EVIDENCE")
	t.Cleanup(func() { r.finish() }) // if setup fails before the cluster exists
	r.setup()
	if d.before != nil {
		d.before(r)
	}
	r.ev.Before = r.heads()
	for _, b := range rb.Blocks {
		r.runBlock(b)
		if b.ID != "" {
			r.finished[b.ID] = time.Now()
			if h := d.hooks[b.ID]; h != nil {
				h(r)
			}
		}
	}
	for id := range d.hooks {
		if _, ok := r.finished[id]; !ok {
			t.Errorf("the drill checks after block id=%s, which the runbook no longer has", id)
		}
	}
	if d.after != nil {
		d.after(r)
	}
	r.ev.After = r.heads()
}

// setup makes the cluster, the work and feed directories, the approvers'
// key files and the signed genesis as log.json, and starts every member.
func (r *drillRun) setup() {
	t := r.t
	r.c = newCluster(t, Options{NetworkID: "drill", Members: r.d.members, Approvers: r.d.approvers, Threshold: r.d.threshold})
	t.Cleanup(func() { r.finish() }) // before the cluster's own cleanup removes its directory
	r.work, r.feed, r.bin = filepath.Join(r.c.Dir, "work"), filepath.Join(r.c.Dir, "feed"), filepath.Join(r.c.Dir, "bin")
	for _, dir := range []string{r.work, r.feed, r.bin, filepath.Join(r.work, "keys"), filepath.Join(r.work, "backups"), filepath.Join(r.work, "state")} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// The daemons run the rustynet on the nodes' PATH, as a service does:
	// a runbook that installs another binary changes what they run.
	r.build = r.c.opts.Bin
	if err := os.Symlink(r.build, filepath.Join(r.bin, "rustynet")); err != nil {
		t.Fatal(err)
	}
	r.c.opts.Bin = filepath.Join(r.bin, "rustynet")
	for id, k := range r.c.approvers {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		r.write(filepath.Join(r.work, "keys", id+".key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	}
	r.write(filepath.Join(r.work, "log.json"), r.c.Genesis.Encode(), 0o644)
	r.write(filepath.Join(r.feed, "log.json"), r.c.Genesis.Encode(), 0o644)
	for _, id := range r.d.members {
		r.cfg[id] = NodeConfig{Feed: r.feed, FeedInterval: drillFeedInterval}
		r.c.Node(id).Start(r.cfg[id])
	}
}

func (r *drillRun) write(path string, data []byte, perm fs.FileMode) {
	if err := os.WriteFile(path, data, perm); err != nil {
		r.t.Fatal(err)
	}
}

// env returns the environment of a block run at where, for node n (nil
// unless on a node) or approver a ("" unless on=approver).
func (r *drillRun) env(n *Node, a string) []string {
	env := []string{
		"PATH=" + r.bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"WORK=" + r.work, "FEED=" + r.feed, "BACKUPS=" + filepath.Join(r.work, "backups"),
		"NETWORK_ID=drill", "GENESIS_ROOT=" + r.c.GenesisRoot.String(), "TARGET=" + r.d.target,
		"LANG=C.UTF-8",
	}
	state := filepath.Join(r.work, "state") // nothing the CLI defaults to is the machine's
	if n != nil {
		state = n.Dir
		env = append(env, "NODE="+n.ID, "CONFIG="+n.Config, "STATE_DIR="+n.StateDir, "HIGH_WATER="+n.HighWater,
			"NODE_KEY="+filepath.Join(n.Dir, "node.key"), "NODE_ADDRESS="+n.Addr.String(),
			fmt.Sprintf("NODE_ENDPOINT=127.0.0.1:%d", n.Port))
	}
	if a != "" {
		env = append(env, "APPROVER="+a, "APPROVER_KEY="+filepath.Join(r.work, "keys", a+".key"))
	}
	env = append(env, "HOME="+state, "XDG_STATE_HOME="+state, "XDG_CONFIG_HOME="+filepath.Join(state, "config"), "XDG_RUNTIME_DIR="+state)
	if r.d.env != nil {
		for k, v := range r.d.env(r) {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// turn is one run of a block: on a node, as an approver, or neither.
type turn struct {
	node     *Node
	approver string
}

func (tn turn) String() string {
	switch {
	case tn.node != nil:
		return "node " + tn.node.ID
	case tn.approver != "":
		return "approver " + tn.approver
	}
	return "coordinator"
}

// turns returns where b runs.
func (r *drillRun) turns(b runbook.Block) []turn {
	var out []turn
	switch b.Where {
	case "coordinator":
		out = []turn{{}}
	case "approver":
		signers := r.d.signers
		if s, ok := r.d.signersFor[b.ID]; ok {
			signers = s
		}
		for _, a := range signers {
			out = append(out, turn{approver: a})
		}
	case "node":
		out = []turn{{node: r.c.Node(r.d.target)}}
	case "peers", "every-node":
		for _, id := range r.d.members {
			if b.Where == "peers" && id == r.d.target {
				continue
			}
			out = append(out, turn{node: r.c.Node(id)})
		}
	}
	return out
}

// runBlock runs b in each of its turns, records each as a step, and fails
// the drill on a step that did not do what the runbook says.
func (r *drillRun) runBlock(b runbook.Block) {
	for _, tn := range r.turns(b) {
		step := evidence.Step{Title: b.Section, Where: tn.String(), Command: b.Script}
		if b.ExpectFail {
			step.Expect = "the commands fail"
			if b.ExpectCode != "" {
				step.Expect += " with " + b.ExpectCode
			}
		}
		start := time.Now()
		var err error
		if b.Service != "" {
			step.Expect = "the node's service is " + map[string]string{"stop": "stopped", "start": "started"}[b.Service] +
				" (the drill's own process control stands in for the service manager)"
			err = r.service(tn.node, b.Service)
		} else {
			var out []byte
			out, step.ExitCode, err = r.shell(b.Script, tn)
			step.Output = tail(out, 4096)
			if b.ExpectFail {
				switch {
				case step.ExitCode == 0:
					err = fmt.Errorf("the commands succeeded; the runbook says they fail")
				case b.ExpectCode != "" && !strings.Contains(string(out), "error: "+b.ExpectCode+":"):
					err = fmt.Errorf("the commands failed, but not with %s as the runbook says", b.ExpectCode)
				default:
					err = nil
				}
			}
		}
		step.DurationMS = ms(time.Since(start))
		step.Status = evidence.Pass
		if err != nil {
			step.Status = evidence.Fail
		}
		r.ev.Steps = append(r.ev.Steps, step)
		if err != nil {
			r.t.Fatalf("docs/operations/%s.md line %d (%s), on %s: %v\ncommands:\n%s\noutput:\n%s",
				r.d.name, b.Line, b.Section, tn, err, b.Script, step.Output)
		}
	}
}

// blockTimeout bounds one block's turn.
const blockTimeout = 3 * time.Minute

// shell runs script with bash (errexit, nounset, pipefail) in the work
// directory, and returns its output and exit status.
func (r *drillRun) shell(script string, tn turn) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), blockTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = r.work
	cmd.Env = r.env(tn.node, tn.approver)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.Bytes(), ee.ExitCode(), fmt.Errorf("exit status %d", ee.ExitCode())
	}
	if err != nil {
		return out.Bytes(), -1, err
	}
	return out.Bytes(), 0, nil
}

// service stops or starts n's daemon. A start runs the daemon on the
// node's configuration and key files exactly as the runbook left them (a
// rotated key, a re-pinned genesis).
func (r *drillRun) service(n *Node, action string) error {
	if action == "stop" {
		n.Stop()
		return nil
	}
	return r.startAsConfigured(n)
}

// startAsConfigured starts n's daemon on its files as they are (Node.Start
// rewrites them) and waits until its control socket answers; the harness's
// idea of the node's key follows its key file.
func (r *drillRun) startAsConfigured(n *Node) error {
	data, err := os.ReadFile(filepath.Join(n.Dir, "node.key"))
	if err != nil {
		return err
	}
	k, err := hostapi.ParsePrivateKey(strings.TrimSpace(string(data)))
	if err != nil {
		return fmt.Errorf("the node's key file: %w", err)
	}
	if k != n.Key {
		n.Key = k
		pub, err := publicOf(k)
		if err != nil {
			return err
		}
		n.Public = pub
	}
	p, err := n.spawn(r.cfg[n.ID], nil)
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.proc, n.started = p, true
	n.mu.Unlock()
	var lastErr error
	err = poll.Until(startTimeout, 20*time.Millisecond, func() bool {
		select {
		case <-p.done:
			return true
		default:
		}
		_, lastErr = r.status(n)
		return lastErr == nil
	})
	select {
	case <-p.done:
		n.mu.Lock()
		n.proc = nil
		n.mu.Unlock()
		return fmt.Errorf("the daemon exited (%v); its log ends:\n%s", p.err, n.logTail())
	default:
	}
	if err != nil {
		return fmt.Errorf("the control socket did not answer (%v): %w; the daemon's log ends:\n%s", lastErr, err, n.logTail())
	}
	return nil
}

// check records a check the drill makes between the runbook's blocks, and
// fails the drill if it fails.
func (r *drillRun) check(title string, fn func() error) {
	start := time.Now()
	err := fn()
	step := evidence.Step{Title: title, Where: "check", Command: "(drill check)", DurationMS: ms(time.Since(start)), Status: evidence.Pass}
	if err != nil {
		step.Status, step.Output = evidence.Fail, err.Error()
	}
	r.ev.Steps = append(r.ev.Steps, step)
	if err != nil {
		r.t.Fatalf("check %q: %v", title, err)
	}
}

// heads returns the trusted head of every running member.
func (r *drillRun) heads() []evidence.Head {
	var out []evidence.Head
	for _, id := range r.d.members {
		n := r.c.Node(id)
		if n.PID() == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		st, err := n.Client().Status(ctx)
		cancel()
		if err != nil {
			continue
		}
		out = append(out, evidence.Head{Node: id, Epoch: st.Trust.Epoch, StateRoot: st.Trust.StateRoot, Restricted: st.Trust.Restricted})
	}
	return out
}

// status returns n's status, or an error.
func (r *drillRun) status(n *Node) (controlapi.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	return n.Client().Status(ctx)
}

// finish stops the nodes (so their audit trails end with audit.closed),
// keeps every member's audit trail beside the evidence, verifies it, and
// writes the evidence file.
func (r *drillRun) finish() {
	if r.done {
		return
	}
	r.done = true
	out := r.out
	r.ev.DurationMS = ms(time.Since(r.start))
	r.ev.Status = evidence.Pass
	if r.t.Failed() {
		r.ev.Status = evidence.Fail
		for _, s := range r.ev.Steps {
			if s.Status == evidence.Fail {
				r.ev.Error = fmt.Sprintf("%s (%s, exit status %d): %s", s.Title, s.Where, s.ExitCode, tail([]byte(s.Output), 400))
			}
		}
		if r.ev.Error == "" {
			r.ev.Error = "the drill failed outside a step (see the test log)"
		}
	}
	if out == "" { // no evidence wanted (a plain go test run): check the audit trails all the same
		tmp, err := os.MkdirTemp("", "rustynet-drill-")
		if err != nil {
			r.t.Error(err)
			return
		}
		defer os.RemoveAll(tmp)
		out = tmp
	}
	if r.c != nil {
		for _, id := range r.d.members {
			n := r.c.Node(id)
			n.Stop()
			src := audit.DirFor(n.StateDir)
			rel := filepath.Join(r.d.name, "audit", id)
			dst := filepath.Join(out, rel)
			os.RemoveAll(dst)
			if err := copyFiles(src, dst); err != nil {
				continue // the node never ran
			}
			ac := evidence.AuditCopy{Node: id, Dir: rel}
			if _, rep, err := audit.Verify(dst); err == nil {
				ac.OK, ac.Records, ac.Head, ac.Problems = rep.OK, rep.Records, rep.Head, len(rep.Problems)
				if !rep.OK {
					r.t.Errorf("%s: the audit trail does not verify: %v", id, rep.Error())
					r.ev.Status = evidence.Fail
				}
			}
			r.ev.Audit = append(r.ev.Audit, ac)
		}
	}
	if err := evidence.WriteDrill(out, r.ev); err != nil {
		r.t.Errorf("writing the drill's evidence: %v", err)
	}
	r.t.Logf("drill %s: %s in %.0f ms; evidence in %s", r.d.name, r.ev.Status, r.ev.DurationMS, filepath.Join(out, r.d.name+".json"))
}

// copyFiles copies the regular files of src into a new directory dst.
func copyFiles(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// publicOf returns the X25519 public key of a node's private key.
func publicOf(k hostapi.PrivateKey) (membership.NodeKey, error) {
	priv, err := ecdh.X25519().NewPrivateKey(k[:])
	if err != nil {
		return membership.NodeKey{}, err
	}
	var pub membership.NodeKey
	copy(pub[:], priv.PublicKey().Bytes())
	return pub, nil
}
