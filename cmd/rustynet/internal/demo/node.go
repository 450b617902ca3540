package demo

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/rustynet/rustynet/cmd/rustynet/internal/keyfile"
	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/internal/freeport"
)

// node is one node of the demo's mesh and, once started, its daemon.
type node struct {
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

// newNode makes a node's key, address and ports; socks gives it a SOCKS5
// proxy.
func (s *session) newNode(id string, i int, socks bool) {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	n := &node{id: id, priv: k.Bytes(), addr: netip.PrefixFrom(netip.AddrFrom4([4]byte{100, 64, 0, byte(i)}), 32),
		port: freePort("udp"), dir: filepath.Join(s.dir, id)}
	copy(n.pub[:], k.PublicKey().Bytes())
	if socks {
		n.socks = fmt.Sprintf("127.0.0.1:%d", freePort("tcp"))
	}
	s.nodes[id] = n
}

func (s *session) member(id string) membership.Node {
	n := s.nodes[id]
	return membership.Node{ID: id, PublicKey: n.pub, Addresses: []netip.Prefix{n.addr},
		Endpoints: []netip.AddrPort{netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), n.port)},
		Tags:      []string{}, Routes: []netip.Prefix{}, Status: membership.StatusActive}
}

// start writes a node's key and configuration and starts its daemon.
func (s *session) start(ctx context.Context, id string) error {
	n := s.nodes[id]
	if err := os.MkdirAll(n.dir, 0o700); err != nil {
		return err
	}
	keyFile := filepath.Join(n.dir, "node.key")
	if err := os.WriteFile(keyFile, keyfile.Node(n.priv), 0o600); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[node]\nid = %q\nprivate_key_file = %q\nstate_dir = %q\nhigh_water_file = %q\n\n",
		id, keyFile, filepath.Join(n.dir, "state"), filepath.Join(n.dir, "highwater.json"))
	fmt.Fprintf(&b, "[membership]\ngenesis_file = %q\ngenesis_root = %q\n\n", filepath.Join(s.dir, "genesis.json"), s.genesis.String())
	fmt.Fprintf(&b, "[store]\nkind = \"file\"\n\n[backend]\nkind = \"netstack\"\nlisten_port = %d\n\n", n.port)
	fmt.Fprintf(&b, "[proxy]\nsocks5 = %q\n", n.socks)
	if id == "n2" {
		fmt.Fprintf(&b, "[[proxy.expose]]\nproto = \"tcp\"\nport = 80\ntarget = %q\n", s.web)
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
	n.cmd = exec.Command(s.o.Executable, "daemon", "--config", cfg)
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	n.cmd.SysProcAttr = sysProcAttr()
	if err := n.cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	n.exited = make(chan error, 1)
	go func() { n.exited <- n.cmd.Wait(); logf.Close() }()
	s.started = append(s.started, id)
	s.history.did("rustynet daemon --config %s/rustynet.toml &   # as the demo started it (its SOCKS5 proxy: %s)", id, orNone(n.socks))
	n.control = controlapi.Dial(filepath.Join(n.dir, "control.sock"))
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := n.control.Status(ctx)
		if err == nil {
			s.say("      %s is up: epoch %d, backend %s, %d peers\n", id, st.Trust.Epoch, st.Backend.Name, len(st.Peers))
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

// orNone is s, or "none" if it is empty.
func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// stopAll ends every daemon: SIGTERM, then SIGKILL after 10 s.
func (s *session) stopAll() {
	for _, n := range s.nodes {
		if n.cmd == nil || n.cmd.Process == nil {
			continue
		}
		n.cmd.Process.Signal(os.Interrupt)
	}
	for _, n := range s.nodes {
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

// freePort returns a port on 127.0.0.1 that was free a moment ago and
// that no earlier call handed out (freeport.Pick).
func freePort(network string) uint16 {
	port, err := freeport.Pick(network)
	if err != nil {
		panic(err)
	}
	return port
}
