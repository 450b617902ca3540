package main

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/net/proxy"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
)

func demoCommand() *command {
	return &command{
		name:    "demo",
		args:    "[--keep]",
		summary: "run a local rootless mesh of real nodes and show what governance does",
		help: "Creates approver and node keys and a 2-of-3 genesis in a temporary\n" +
			"directory, starts three node daemons (netstack backend, file store,\n" +
			"each plugin a separate process) on 127.0.0.1, sends HTTP across the\n" +
			"mesh, adds a fourth node by a signed update, shows a forged update\n" +
			"refused, revokes a node and shows its traffic refused. It needs no root\n" +
			"and no configuration, leaves nothing behind (unless --keep), and exits\n" +
			"0 only if every step did what it should.",
		run: runDemo,
	}
}

// demo is the state of one demo run.
type demo struct {
	e         *env
	exe, dir  string
	approvers map[string]ed25519.PrivateKey
	chain     *membership.Chain
	genesis   membership.Hash
	web       string // the address of the web service node n2 exposes
	nodes     map[string]*demoNode
	steps     int
}

type demoNode struct {
	id      string
	priv    []byte
	pub     membership.NodeKey
	addr    netip.Prefix
	port    uint16 // WireGuard UDP port
	socks   string // SOCKS5 listener, "" if none
	dir     string
	cmd     *exec.Cmd
	exited  chan error
	control *controlapi.Client
}

func runDemo(ctx context.Context, e *env, args []string) (err error) {
	fs := e.flagSet()
	keep := fs.Bool("keep", false, "keep the temporary directory (keys, configs, logs) for inspection")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return internalErrorf("locating this executable: %v", err)
	}
	dir, err := os.MkdirTemp("", "rustynet-demo-")
	if err != nil {
		return ioErrorf("%v", err)
	}
	d := &demo{e: e, exe: exe, dir: dir, approvers: map[string]ed25519.PrivateKey{}, nodes: map[string]*demoNode{}}
	defer func() {
		d.stopAll()
		if *keep || err != nil {
			fmt.Fprintf(e.stdout, "\nkept %s (keys, configurations, logs in */daemon.log)\n", dir)
			return
		}
		os.RemoveAll(dir)
	}()
	return d.run(ctx)
}

func (d *demo) run(ctx context.Context) error {
	d.say("Rustynet demo: a rootless mesh on 127.0.0.1, governed by 2-of-3 signed updates\n")

	web, stop, err := serveWeb()
	if err != nil {
		return err
	}
	defer stop()
	d.web = web

	if err := d.step("create approvers alice (owner), bob, carol and a 2-of-3 genesis with nodes n1, n2, n3", d.makeNetwork); err != nil {
		return err
	}
	for _, id := range []string{"n1", "n2", "n3"} {
		if err := d.step("start node "+id+" (daemon + store plugin + netstack backend plugin)", func() error { return d.start(ctx, id) }); err != nil {
			return err
		}
	}
	if err := d.step("n1 fetches http://100.64.0.2/ through its SOCKS5 proxy across the mesh", func() error {
		return d.fetch(ctx, "n1", 30*time.Second)
	}); err != nil {
		return err
	}
	if err := d.step("a forged update (add n4, signed by alice alone) is refused by every node", func() error {
		return d.forged(ctx)
	}); err != nil {
		return err
	}
	if err := d.step("add n4 by an update signed by alice and bob; every node verifies it itself", func() error {
		d.newNode("n4", 4, true)
		u, err := d.propose(membership.Operation{Type: membership.OpAddNode, Node: d.member("n4")}, "alice", "bob")
		if err != nil {
			return err
		}
		if err := d.applyAll(ctx, u, "n1", "n2", "n3"); err != nil {
			return err
		}
		if err := d.start(ctx, "n4"); err != nil {
			return err
		}
		return d.applyAll(ctx, u, "n4")
	}); err != nil {
		return err
	}
	if err := d.step("n4 fetches http://100.64.0.2/ through its SOCKS5 proxy", func() error {
		return d.fetch(ctx, "n4", 30*time.Second)
	}); err != nil {
		return err
	}
	if err := d.step("revoke n4 by an update signed by bob and carol", func() error {
		u, err := d.propose(membership.Operation{Type: membership.OpRevokeNode, NodeID: "n4"}, "bob", "carol")
		if err != nil {
			return err
		}
		return d.applyAll(ctx, u, "n2", "n1", "n3", "n4")
	}); err != nil {
		return err
	}
	if err := d.step("n4's traffic is now refused: the same request fails", func() error {
		if err := d.fetch(ctx, "n4", 3*time.Second); err == nil {
			return fmt.Errorf("n4 still reached n2 after its revocation")
		}
		d.say("      refused, as it must be\n")
		return d.fetch(ctx, "n1", 10*time.Second) // and the others still work
	}); err != nil {
		return err
	}
	st, err := d.nodes["n2"].control.Status(ctx)
	if err != nil {
		return daemonError("status of n2", err)
	}
	d.say("\n`rustynet status` on n2:\n")
	printStatus(d.e, st)
	d.say("\nall %d steps did what they should\n", d.steps)
	return nil
}

// step runs one numbered step and prints how long it took.
func (d *demo) step(title string, f func() error) error {
	d.steps++
	d.say("[%d] %s\n", d.steps, title)
	start := time.Now()
	if err := f(); err != nil {
		d.say("      FAILED: %v\n", err)
		return err
	}
	d.say("      ok (%s)\n", time.Since(start).Round(time.Millisecond))
	return nil
}

func (d *demo) say(format string, args ...any) { fmt.Fprintf(d.e.stdout, format, args...) }

func (d *demo) makeNetwork() error {
	var as []membership.Approver
	for _, a := range []struct {
		id   string
		role membership.Role
	}{{"alice", membership.RoleOwner}, {"bob", membership.RoleApprover}, {"carol", membership.RoleApprover}} {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return err
		}
		d.approvers[a.id] = priv
		var k membership.ApproverKey
		copy(k[:], pub)
		as = append(as, membership.Approver{ID: a.id, PublicKey: k, Role: a.role})
	}
	var nodes []membership.Node
	for i, id := range []string{"n1", "n2", "n3"} {
		d.newNode(id, i+1, id == "n1")
		nodes = append(nodes, d.member(id))
	}
	g, err := membership.NewGenesis("demo", 2, as, nodes, membership.DefaultPolicy(), membership.Proposal{CreatedAt: time.Now(), Validity: 24 * time.Hour})
	if err != nil {
		return rejected("genesis", err)
	}
	for _, id := range []string{"alice", "bob", "carol"} {
		if err := g.Sign(d.approvers[id]); err != nil {
			return err
		}
	}
	d.chain = membership.NewChain("demo")
	if _, err := d.chain.Apply(g, membership.Options{Now: time.Now()}); err != nil {
		return rejected("genesis", err)
	}
	d.genesis = g.Body.NewStateRoot
	d.say("      genesis root %s\n", d.genesis)
	return os.WriteFile(filepath.Join(d.dir, "genesis.json"), g.Encode(), 0o600)
}

// newNode makes a node's key, address and ports; socks gives it a SOCKS5
// proxy.
func (d *demo) newNode(id string, i int, socks bool) {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	n := &demoNode{id: id, priv: k.Bytes(), addr: netip.PrefixFrom(netip.AddrFrom4([4]byte{100, 64, 0, byte(i)}), 32),
		port: freePort("udp"), dir: filepath.Join(d.dir, id)}
	copy(n.pub[:], k.PublicKey().Bytes())
	if socks {
		n.socks = fmt.Sprintf("127.0.0.1:%d", freePort("tcp"))
	}
	d.nodes[id] = n
}

func (d *demo) member(id string) membership.Node {
	n := d.nodes[id]
	return membership.Node{ID: id, PublicKey: n.pub, Addresses: []netip.Prefix{n.addr},
		Endpoints: []netip.AddrPort{netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), n.port)},
		Tags:      []string{}, Routes: []netip.Prefix{}, Status: membership.StatusActive}
}

// start writes a node's key and configuration and starts its daemon.
func (d *demo) start(ctx context.Context, id string) error {
	n := d.nodes[id]
	if err := os.MkdirAll(n.dir, 0o700); err != nil {
		return err
	}
	keyFile := filepath.Join(n.dir, "node.key")
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(n.priv)+"\n"), 0o600); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[node]\nid = %q\nprivate_key_file = %q\nstate_dir = %q\nhigh_water_file = %q\n\n",
		id, keyFile, filepath.Join(n.dir, "state"), filepath.Join(n.dir, "highwater.json"))
	fmt.Fprintf(&b, "[membership]\ngenesis_file = %q\ngenesis_root = %q\n\n", filepath.Join(d.dir, "genesis.json"), d.genesis.String())
	fmt.Fprintf(&b, "[store]\nkind = \"file\"\n\n[backend]\nkind = \"netstack\"\nlisten_port = %d\n\n", n.port)
	fmt.Fprintf(&b, "[proxy]\nsocks5 = %q\n", n.socks)
	if id == "n2" {
		fmt.Fprintf(&b, "[[proxy.expose]]\nproto = \"tcp\"\nport = 80\ntarget = %q\n", d.web)
	}
	fmt.Fprintf(&b, "\n[control]\nsocket = %q\n\n[log]\nlevel = \"info\"\n", filepath.Join(n.dir, "control.sock"))
	cfg := filepath.Join(n.dir, "rustynet.toml")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(n.dir, "daemon.log"))
	if err != nil {
		return err
	}
	n.cmd = exec.Command(d.exe, "daemon", "--config", cfg)
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	n.cmd.SysProcAttr = demoSysProcAttr()
	if err := n.cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	n.exited = make(chan error, 1)
	go func() { n.exited <- n.cmd.Wait(); logf.Close() }()
	n.control = controlapi.Dial(filepath.Join(n.dir, "control.sock"))
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := n.control.Status(ctx)
		if err == nil {
			d.say("      %s is up: epoch %d, backend %s, %d peers\n", id, st.Trust.Epoch, st.Backend.Name, len(st.Peers))
			return nil
		}
		select {
		case err := <-n.exited:
			return fmt.Errorf("the daemon of %s exited (%v); see %s", id, err, logf.Name())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the daemon of %s did not answer within a minute; see %s", id, logf.Name())
		}
	}
}

// propose builds an update on the demo's copy of the chain and signs it.
func (d *demo) propose(op membership.Operation, signers ...string) (*membership.SignedUpdate, error) {
	u, err := membership.NewUpdate(d.chain.State(), op, membership.Proposal{CreatedAt: time.Now(), Validity: time.Hour})
	if err != nil {
		return nil, rejected("proposal", err)
	}
	for _, s := range signers {
		if err := u.Sign(d.approvers[s]); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// applyAll submits u to each node's daemon, which verifies it itself, and
// advances the demo's chain.
func (d *demo) applyAll(ctx context.Context, u *membership.SignedUpdate, ids ...string) error {
	for _, id := range ids {
		start := time.Now()
		res, err := d.nodes[id].control.ApplyUpdate(ctx, u.Encode(), false)
		if err != nil {
			return daemonError(id+" refused the update", err)
		}
		d.say("      %s applied epoch %d: verified, durable and in its data plane in %s (%s round trip)\n",
			id, res.Epoch, time.Duration(res.LatencyMicros)*time.Microsecond, time.Since(start).Round(time.Microsecond))
	}
	if _, seen := d.chain.Seen(u.Body.UpdateID); !seen {
		if _, err := d.chain.Apply(u, membership.Options{Now: time.Now()}); err != nil {
			return rejected("demo chain", err)
		}
	}
	return nil
}

func (d *demo) forged(ctx context.Context) error {
	d.newNode("n4", 4, true)
	u, err := d.propose(membership.Operation{Type: membership.OpAddNode, Node: d.member("n4")}, "alice")
	if err != nil {
		return err
	}
	for _, id := range []string{"n1", "n2", "n3"} {
		_, err := d.nodes[id].control.ApplyUpdate(ctx, u.Encode(), false)
		if membership.CodeOf(err) != membership.ThresholdNotMet {
			return fmt.Errorf("%s answered %v, want THRESHOLD_NOT_MET", id, err)
		}
		d.say("      %s: %v\n", id, err)
	}
	return nil
}

// fetch gets the web page n2 exposes through node id's SOCKS5 proxy,
// retrying until within (the first request waits for a handshake).
func (d *demo) fetch(ctx context.Context, id string, within time.Duration) error {
	dialer, err := proxy.SOCKS5("tcp", d.nodes[id].socks, nil, proxy.Direct)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext:       dialer.(proxy.ContextDialer).DialContext,
		DisableKeepAlives: true,
	}}
	deadline := time.Now().Add(within)
	for {
		start := time.Now()
		body, err := get(ctx, client, "http://100.64.0.2/")
		if err == nil {
			d.say("      %s got %q in %s\n", id, strings.TrimSpace(body), time.Since(start).Round(time.Microsecond))
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s could not reach n2: %v", id, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func get(ctx context.Context, c *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return string(b), err
}

// stopAll ends every daemon: SIGTERM, then SIGKILL after 10 s.
func (d *demo) stopAll() {
	for _, n := range d.nodes {
		if n.cmd == nil || n.cmd.Process == nil {
			continue
		}
		n.cmd.Process.Signal(os.Interrupt)
	}
	for _, n := range d.nodes {
		if n.exited == nil {
			continue
		}
		select {
		case <-n.exited:
		case <-time.After(10 * time.Second):
			n.cmd.Process.Kill()
			<-n.exited
		}
		if n.control != nil {
			n.control.Close()
		}
	}
}

// serveWeb starts the web service node n2 exposes to the mesh.
func serveWeb() (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello from n2's web service\n")
	})}
	go srv.Serve(ln)
	return ln.Addr().String(), func() { srv.Close() }, nil
}

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort(network string) uint16 {
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		defer c.Close()
		return uint16(c.LocalAddr().(*net.UDPAddr).Port)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port)
}
