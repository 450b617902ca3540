package e2e

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/freeport"
	"github.com/rustynet/rustynet/internal/poll"
)

// Node is one node of a cluster: its keys, addresses, ports and files, and
// its daemon while it runs. Its methods are safe for concurrent use, except
// Start, Stop, Kill and Restart, which a test calls from one goroutine.
type Node struct {
	ID     string
	Key    hostapi.PrivateKey // WireGuard private key
	Public membership.NodeKey
	Addr   netip.Prefix // mesh address (/32)
	Port   uint16       // WireGuard UDP port on 127.0.0.1
	SOCKS  string       // SOCKS5 listener, 127.0.0.1:port
	// Web is the address of the node's web service, which the node exposes
	// on its mesh address, port 80. It answers "hello from ID\n".
	Web string
	// Dir holds the node's key, configuration, log, state directory,
	// high-water mark and control socket.
	Dir                                          string
	StateDir, HighWater, Socket, Config, LogFile string

	c   *Cluster
	web *httptest.Server

	mu      sync.Mutex // guards the fields below
	proc    *process   // nil while not running
	lastCfg NodeConfig // the configuration of the last Start
	started bool       // Start was called
	control *controlapi.Client
}

func newNode(c *Cluster, id string, addr netip.Prefix) *Node {
	c.tb.Helper()
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		c.tb.Fatal(err)
	}
	dir := filepath.Join(c.Dir, id)
	n := &Node{ID: id, Addr: addr, Port: freePort(c.tb, "udp"), SOCKS: fmt.Sprintf("127.0.0.1:%d", freePort(c.tb, "tcp")),
		Dir: dir, StateDir: filepath.Join(dir, "state"), HighWater: filepath.Join(dir, "highwater.json"),
		Socket: filepath.Join(dir, "control.sock"), Config: filepath.Join(dir, "rustynet.toml"), LogFile: filepath.Join(dir, "daemon.log"), c: c}
	copy(n.Key[:], k.Bytes())
	copy(n.Public[:], k.PublicKey().Bytes())
	body := "hello from " + id + "\n"
	n.web = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, body) }))
	c.tb.Cleanup(n.web.Close)
	n.Web = n.web.Listener.Addr().String()
	return n
}

// Member returns the node's membership record: active, its key, its mesh
// address and its WireGuard endpoint on 127.0.0.1.
func (n *Node) Member() membership.Node {
	return membership.Node{ID: n.ID, PublicKey: n.Public, Addresses: []netip.Prefix{n.Addr},
		Endpoints: []netip.AddrPort{netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), n.Port)},
		Tags:      []string{}, Routes: []netip.Prefix{}, Status: membership.StatusActive}
}

// Client returns the control API client of the node's socket.
func (n *Node) Client() *controlapi.Client {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.control == nil {
		n.control = controlapi.Dial(n.Socket)
	}
	return n.control
}

// Apply sends the signed update u to the daemon's control API.
func (n *Node) Apply(u *membership.SignedUpdate) (controlapi.ApplyResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	return n.Client().ApplyUpdate(ctx, u.Encode(), false)
}

// Status returns the daemon's status; it fails the test if the daemon does
// not answer.
func (n *Node) Status() controlapi.Status {
	n.c.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	st, err := n.Client().Status(ctx)
	if err != nil {
		n.c.tb.Fatalf("status of %s: %v", n.ID, err)
	}
	return st
}

// WaitStatus polls the daemon's status until ok accepts it and returns
// that status; it fails the test, naming what, if within passes first.
func (n *Node) WaitStatus(what string, within time.Duration, ok func(controlapi.Status) bool) controlapi.Status {
	n.c.tb.Helper()
	var last controlapi.Status
	var lastErr error
	err := poll.Until(within, 20*time.Millisecond, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		last, lastErr = n.Client().Status(ctx)
		return lastErr == nil && ok(last)
	})
	if err != nil {
		n.c.tb.Fatalf("%s: waiting for %s: %v (last status error %v; last status %+v)", n.ID, what, err, lastErr, last)
	}
	return last
}

// callTimeout bounds one control API call. Generous: the machine is shared.
const callTimeout = 60 * time.Second

// freePort returns a port on 127.0.0.1 that was free a moment ago and
// that no earlier call handed out (freeport.Pick).
func freePort(tb testing.TB, network string) uint16 {
	tb.Helper()
	port, err := freeport.Pick(network)
	if err != nil {
		tb.Fatal(err)
	}
	return port
}
