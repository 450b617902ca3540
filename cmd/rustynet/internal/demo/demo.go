package demo

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rustynet/rustynet/cmd/rustynet/internal/keyfile"
	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
)

// Options configure Run.
type Options struct {
	// Executable is the rustynet binary each node runs as
	// `Executable daemon --config FILE`. Required.
	Executable string
	// Stdout receives the narration; nil discards it.
	Stdout io.Writer
	// Keep keeps the temporary directory after a successful run too: the
	// approvers' keys, every signed update, the network's log, each node's
	// configuration, key, state and log, and ScriptName, the steps as CLI
	// commands, so that the kept network can be governed by hand.
	Keep bool
	// PrintStatus, if not nil, prints node n2's status on Stdout at the
	// end, as `rustynet status` would; nil leaves that section out.
	PrintStatus func(controlapi.Status)
	// MapError, if not nil, rewrites every error Run fails with before Run
	// prints it (after a failed step's FAILED) and returns it, so that both
	// read as the caller reports errors; nil leaves them as they are.
	MapError func(error) error
}

// Run runs the demo (see the package documentation) and returns nil only
// if every step did what it should. It returns early, with ctx's error,
// once ctx is done, and never before every daemon it started has exited.
func Run(ctx context.Context, o Options) (err error) {
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.MapError == nil {
		o.MapError = func(err error) error { return err }
	}
	if o.Executable == "" {
		return o.MapError(errors.New("demo: Options.Executable is empty"))
	}
	dir, err := os.MkdirTemp("", "rustynet-demo-")
	if err != nil {
		return o.MapError(&Error{Kind: TempDir, What: "creating the temporary directory", Err: err})
	}
	s := &session{o: o, dir: dir, approvers: map[string]ed25519.PrivateKey{}, nodes: map[string]*node{}}
	defer func() {
		s.stopAll()
		if o.Keep || err != nil {
			s.keep()
			return
		}
		os.RemoveAll(dir)
	}()
	return s.run(ctx)
}

// keep writes the script of the steps into the directory Run keeps and
// says what it holds.
func (s *session) keep() {
	script := "the steps as CLI commands; run it to check the log and each node's state"
	if s.chain == nil {
		script = "not written: the network was never made"
	} else if err := s.writeScript(); err != nil {
		script = "not written: " + err.Error()
	}
	s.say("\nkept %s:\n", s.dir)
	tw := tabwriter.NewWriter(s.o.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  approvers/\tthe approvers' private keys (alice, bob, carol)\n")
	fmt.Fprintf(tw, "  genesis.json, updates/\tevery signed update, the refused one too\n")
	fmt.Fprintf(tw, "  log.json\tthe network's log: the genesis and every update applied\n")
	fmt.Fprintf(tw, "  %s\t%s\n", ScriptName, script)
	fmt.Fprintf(tw, "  n1/, n2/, ...\teach node's configuration, key, state and daemon.log\n")
	tw.Flush()
}

// session is the state of one demo run.
type session struct {
	o         Options
	dir       string
	approvers map[string]ed25519.PrivateKey
	chain     *membership.Chain
	log       []*membership.SignedUpdate // what chain applied, written to log.json
	genesis   membership.Hash
	web       string // the address of the web service node n2 exposes
	nodes     map[string]*node
	started   []string // the nodes whose daemon was started, in order
	steps     int
	updates   int     // update files written to updates/
	history   history // the steps as CLI commands, for ScriptName
}

// run runs the steps; every error it returns has been through MapError.
func (s *session) run(ctx context.Context) error {
	s.say("Rustynet demo: a rootless mesh on 127.0.0.1, governed by 2-of-3 signed updates\n")

	web, stop, err := serveWeb()
	if err != nil {
		return s.o.MapError(err)
	}
	defer stop()
	s.web = web

	if err := s.step("create approvers alice (owner), bob, carol and a 2-of-3 genesis with nodes n1, n2, n3", s.makeNetwork); err != nil {
		return err
	}
	for _, id := range []string{"n1", "n2", "n3"} {
		if err := s.step("start node "+id+" (daemon + store plugin + netstack backend plugin)", func() error { return s.start(ctx, id) }); err != nil {
			return err
		}
	}
	if err := s.step("n1 fetches http://100.64.0.2/ through its SOCKS5 proxy across the mesh", func() error {
		s.history.did("curl --socks5-hostname %s http://100.64.0.2/", s.nodes["n1"].socks)
		return s.fetch(ctx, "n1", 30*time.Second)
	}); err != nil {
		return err
	}
	if err := s.step("a forged update (add n4, signed by alice alone) is refused by every node", func() error {
		return s.forged(ctx)
	}); err != nil {
		return err
	}
	if err := s.step("add n4 by an update signed by alice and bob; every node verifies it itself", func() error {
		s.newNode("n4", 4, true)
		s.history.did("rustynet key generate --kind node --out n4/node.key   # prints %s", s.nodes["n4"].pub)
		u, file, err := s.propose("add-n4", s.proposeAdd("n4"), membership.Operation{Type: membership.OpAddNode, Node: s.member("n4")}, "alice", "bob")
		if err != nil {
			return err
		}
		if err := s.applyAll(ctx, u, file, "n1", "n2", "n3"); err != nil {
			return err
		}
		if err := s.start(ctx, "n4"); err != nil {
			return err
		}
		return s.applyAll(ctx, u, file, "n4")
	}); err != nil {
		return err
	}
	if err := s.step("n4 fetches http://100.64.0.2/ through its SOCKS5 proxy", func() error {
		s.history.did("curl --socks5-hostname %s http://100.64.0.2/", s.nodes["n4"].socks)
		return s.fetch(ctx, "n4", 30*time.Second)
	}); err != nil {
		return err
	}
	if err := s.step("revoke n4 by an update signed by bob and carol", func() error {
		u, file, err := s.propose("revoke-n4", "propose-revoke-node --from log.json --node-id n4",
			membership.Operation{Type: membership.OpRevokeNode, NodeID: "n4"}, "bob", "carol")
		if err != nil {
			return err
		}
		return s.applyAll(ctx, u, file, "n2", "n1", "n3", "n4")
	}); err != nil {
		return err
	}
	if err := s.step("n4's traffic is now refused: the same request fails", func() error {
		s.history.did("curl --socks5-hostname %s http://100.64.0.2/   # refused; from n1 (%s) it works", s.nodes["n4"].socks, s.nodes["n1"].socks)
		if err := s.fetch(ctx, "n4", 3*time.Second); err == nil {
			return fmt.Errorf("n4 still reached n2 after its revocation")
		}
		s.say("      refused, as it must be\n")
		return s.fetch(ctx, "n1", 10*time.Second) // and the others still work
	}); err != nil {
		return err
	}
	st, err := s.nodes["n2"].control.Status(ctx)
	if err != nil {
		return s.o.MapError(&Error{Kind: Daemon, What: "status of n2", Err: err})
	}
	if s.o.PrintStatus != nil {
		s.say("\n`rustynet status` on n2:\n")
		s.o.PrintStatus(st)
	}
	s.say("\nall %d steps did what they should\n", s.steps)
	return nil
}

// step runs one numbered step and prints how long it took, or how it
// failed (the error through MapError, which step returns).
func (s *session) step(title string, f func() error) error {
	s.steps++
	s.say("[%d] %s\n", s.steps, title)
	s.history.step(s.steps, title)
	start := time.Now()
	if err := f(); err != nil {
		err = s.o.MapError(err)
		s.say("      FAILED: %v\n", err)
		return err
	}
	s.say("      ok (%s)\n", time.Since(start).Round(time.Millisecond))
	return nil
}

func (s *session) say(format string, args ...any) { fmt.Fprintf(s.o.Stdout, format, args...) }

func (s *session) makeNetwork() error {
	if err := os.Mkdir(filepath.Join(s.dir, "approvers"), 0o700); err != nil {
		return err
	}
	var as []membership.Approver
	for _, a := range []struct {
		id   string
		role membership.Role
	}{{"alice", membership.RoleOwner}, {"bob", membership.RoleApprover}, {"carol", membership.RoleApprover}} {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return err
		}
		s.approvers[a.id] = priv
		if err := writeKey(filepath.Join(s.dir, "approvers", a.id+".key"), priv); err != nil {
			return err
		}
		var k membership.ApproverKey
		copy(k[:], pub)
		as = append(as, membership.Approver{ID: a.id, PublicKey: k, Role: a.role})
		s.history.did("rustynet key generate --kind approver --out approvers/%s.key   # prints %s", a.id, k)
	}
	var nodes []membership.Node
	var specs []string
	for i, id := range []string{"n1", "n2", "n3"} {
		s.newNode(id, i+1, id == "n1")
		nodes = append(nodes, s.member(id))
		s.history.did("rustynet key generate --kind node --out %s/node.key   # prints %s", id, s.nodes[id].pub)
		specs = append(specs, fmt.Sprintf("--node %s=%s,%s", id, s.nodes[id].pub, s.nodes[id].addr))
	}
	g, err := membership.NewGenesis("demo", 2, as, nodes, membership.DefaultPolicy(), membership.Proposal{CreatedAt: time.Now(), Validity: 24 * time.Hour})
	if err != nil {
		return &Error{Kind: Refused, What: "genesis", Err: err}
	}
	s.history.did("rustynet membership init --network-id demo --threshold 2 \\")
	s.history.did("    --approver alice=%s:owner --approver bob=%s --approver carol=%s \\", as[0].PublicKey, as[1].PublicKey, as[2].PublicKey)
	s.history.did("    %s --out genesis.json", strings.Join(specs, " "))
	s.history.did("(the demo's genesis also gives each node its endpoint, 127.0.0.1 and a UDP port of its own;")
	s.history.did(" with the CLI that is propose-update-node --endpoint, as for n4 below)")
	for i, id := range []string{"alice", "bob", "carol"} {
		if err := g.Sign(s.approvers[id]); err != nil {
			return err
		}
		why := ""
		if i == 0 {
			why = "   # a genesis needs every initial approver"
		}
		s.history.did("rustynet membership sign-update --key approvers/%s.key genesis.json%s", id, why)
	}
	s.chain = membership.NewChain("demo")
	if _, err := s.chain.Apply(g, membership.Options{Now: time.Now()}); err != nil {
		return &Error{Kind: Refused, What: "genesis", Err: err}
	}
	s.genesis = g.Body.NewStateRoot
	s.say("      genesis root %s\n", s.genesis)
	if err := os.WriteFile(filepath.Join(s.dir, "genesis.json"), g.Encode(), 0o600); err != nil {
		return err
	}
	s.history.did("rustynet membership export --from genesis.json --out log.json   # the log: the genesis, then every update")
	return s.appendLog(g)
}

// writeKey writes an approver's private key as `rustynet key generate`
// does.
func writeKey(path string, priv ed25519.PrivateKey) error {
	data, err := keyfile.Approver(priv)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

// appendLog adds u, which the demo's chain has just applied, to log.json.
func (s *session) appendLog(u *membership.SignedUpdate) error {
	s.log = append(s.log, u)
	return os.WriteFile(filepath.Join(s.dir, "log.json"), membership.EncodeLog(s.log), 0o600)
}

// proposeAdd is the propose-add-node command line that adds node id as
// member(id) has it.
func (s *session) proposeAdd(id string) string {
	n := s.nodes[id]
	return fmt.Sprintf("propose-add-node --from log.json --node-id %s --node-key %s --address %s --endpoint 127.0.0.1:%d", id, n.pub, n.addr, n.port)
}

// propose builds an update on the demo's copy of the chain, signs it and
// writes it to updates/N-name.json. cmd is the equivalent `rustynet
// membership` command, for the history, without its --out.
func (s *session) propose(name, cmd string, op membership.Operation, signers ...string) (*membership.SignedUpdate, string, error) {
	u, err := membership.NewUpdate(s.chain.State(), op, membership.Proposal{CreatedAt: time.Now(), Validity: time.Hour})
	if err != nil {
		return nil, "", &Error{Kind: Refused, What: "proposal", Err: err}
	}
	s.updates++
	file := fmt.Sprintf("updates/%d-%s.json", s.updates, name)
	s.history.did("rustynet membership %s --expires-in 1h --out %s", cmd, file)
	for _, signer := range signers {
		if err := u.Sign(s.approvers[signer]); err != nil {
			return nil, "", err
		}
		s.history.did("rustynet membership sign-update --key approvers/%s.key --from log.json %s", signer, file)
	}
	if err := os.MkdirAll(filepath.Join(s.dir, "updates"), 0o700); err != nil {
		return nil, "", err
	}
	return u, file, os.WriteFile(filepath.Join(s.dir, file), u.Encode(), 0o600)
}

// applyAll submits u (written to file) to each node's daemon, which
// verifies it itself, and advances the demo's chain and its log.
func (s *session) applyAll(ctx context.Context, u *membership.SignedUpdate, file string, ids ...string) error {
	for _, id := range ids {
		s.history.did("rustynet membership apply-update --socket %s/control.sock %s", id, file)
		start := time.Now()
		res, err := s.nodes[id].control.ApplyUpdate(ctx, u.Encode(), false)
		if err != nil {
			return &Error{Kind: Daemon, What: id + " refused the update", Err: err}
		}
		s.say("      %s applied epoch %d: verified, durable and in its data plane in %s (%s round trip)\n",
			id, res.Epoch, time.Duration(res.LatencyMicros)*time.Microsecond, time.Since(start).Round(time.Microsecond))
	}
	if _, seen := s.chain.Seen(u.Body.UpdateID); !seen {
		if _, err := s.chain.Apply(u, membership.Options{Now: time.Now()}); err != nil {
			return &Error{Kind: Refused, What: "demo chain", Err: err}
		}
		s.history.did("rustynet membership apply-update --from log.json %s   # log.json grows by the update", file)
		return s.appendLog(u)
	}
	return nil
}

func (s *session) forged(ctx context.Context) error {
	s.newNode("n4", 4, true)
	u, file, err := s.propose("add-n4-forged", s.proposeAdd("n4"), membership.Operation{Type: membership.OpAddNode, Node: s.member("n4")}, "alice")
	if err != nil {
		return err
	}
	for _, id := range []string{"n1", "n2", "n3"} {
		s.history.did("rustynet membership apply-update --socket %s/control.sock %s   # THRESHOLD_NOT_MET", id, file)
		_, err := s.nodes[id].control.ApplyUpdate(ctx, u.Encode(), false)
		if membership.CodeOf(err) != membership.ThresholdNotMet {
			return fmt.Errorf("%s answered %v, want THRESHOLD_NOT_MET", id, err)
		}
		s.say("      %s: %v\n", id, err)
	}
	return nil
}
