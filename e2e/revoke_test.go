package e2e

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/proxy"

	"github.com/rustynet/rustynet/core/membership"
)

// TestRevokedNodeIsCutOff revokes n3 on n1 and n2 while n3 itself ignores
// the revocation (a compromised node keeps its old peers and keeps
// trying): n3's peer entry is gone from the others' backends, its traffic
// is dropped there, traffic to it is refused, and members still reach each
// other. Then n3 tries to re-admit itself — with its own signature, or
// with a restore signed by non-approvers — and is refused with nothing
// changed. Last, n3's own daemon applies its revocation and isolates
// itself.
//
// The revocation is applied with `rustynet membership apply-update`, and
// a connection through it is open when it comes: a client of n1's SOCKS5
// proxy connected to a service n3 exposes. n1's removal of n3 resets the
// client's connection at once (a reset, not silence, not an orderly end),
// and n3's own revocation resets n3's connection to its service.
func TestRevokedNodeIsCutOff(t *testing.T) {
	t.Parallel()
	c := newCluster(t, Options{Members: []string{"n1", "n2", "n3"}})
	n1, n2, n3 := c.Node("n1"), c.Node("n2"), c.Node("n3")
	service, err := net.Listen("tcp", "127.0.0.1:0") // exposed by n3 on its mesh port 81
	if err != nil {
		t.Fatal(err)
	}
	defer service.Close()
	n1.Start(NodeConfig{})
	n2.Start(NodeConfig{})
	n3.Start(NodeConfig{Proxy: fmt.Sprintf("[[proxy.expose]]\nproto = \"tcp\"\nport = 81\ntarget = %q\n", service.Addr())})
	n3.WaitReach(n2, reachWithin)
	n2.WaitReach(n3, reachWithin)
	n1.WaitReach(n3, reachWithin)
	client, served := proxiedConn(t, n1, n3.Addr.Addr().String()+":81", service)
	defer client.Close()
	defer served.Close()

	revoke := c.Sign(c.Propose(membership.Operation{Type: membership.OpRevokeNode, NodeID: "n3"}), "a1", "a2")
	applyWithCLI(t, c, n1, revoke)
	c.ApplyAll(revoke, "n2") // and commits it
	wantReset(t, "n1's SOCKS5 client connected to n3's service, once n1 revoked n3", client)
	for _, n := range []*Node{n1, n2} {
		if st := n.Status(); HasPeer(st, n3) {
			t.Errorf("%s still has n3 as a peer after revoking it: %v", n.ID, PeerIDs(st))
		}
	}
	if st := n3.Status(); !HasPeer(st, n2) {
		t.Fatalf("n3 (which did not apply its revocation) lost n2 as a peer: %v", PeerIDs(st))
	}
	n3.WantNoReach(n2)
	n3.WantNoReach(n1)
	n2.WantNoReach(n3)
	n1.WaitReach(n2, reachWithin)

	restore := membership.Operation{Type: membership.OpRestoreNode, NodeID: "n3"}
	tests := []struct {
		name   string
		update func() *membership.SignedUpdate
		code   membership.Code
	}{
		{"restore signed by the node itself", func() *membership.SignedUpdate { return c.Sign(c.Propose(restore), "n3") }, membership.UnknownSigner},
		{"restore signed by two non-approvers", func() *membership.SignedUpdate { return c.Sign(c.Propose(restore), "n3", "mallory") }, membership.UnknownSigner},
		{"restore signed by one approver and the node", func() *membership.SignedUpdate { return c.Sign(c.Propose(restore), "a1", "n3") }, membership.UnknownSigner},
		{"restore under threshold", func() *membership.SignedUpdate { return c.Sign(c.Propose(restore), "a3") }, membership.ThresholdNotMet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantRejected(t, tt.update(), tt.code, n1, n2)
			n3.WantNoReach(n2)
			n1.WaitReach(n2, reachWithin)
		})
	}

	t.Run("the revoked node applies its revocation", func(t *testing.T) {
		applyWithCLI(t, c, n3, revoke)
		st := n3.Status()
		if len(st.Peers) != 0 || st.Backend.Isolated == "" {
			t.Errorf("revoked n3: peers %v, isolated %q; want no peers and the reason", PeerIDs(st), st.Backend.Isolated)
		}
		wantReset(t, "n3's connection to its service from n1, once n3 applied its revocation", served)
	})
}

// proxiedConn connects through from's SOCKS5 proxy to target (a mesh
// address and port of a node exposing service) and returns both ends:
// the client's connection, and the one service accepted from the node.
// A byte each way proves the relay works before the test cuts it.
func proxiedConn(t *testing.T, from *Node, target string, service net.Listener) (client, served net.Conn) {
	t.Helper()
	dialer, err := proxy.SOCKS5("tcp", from.SOCKS, nil, &net.Dialer{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	client, err = dialer.Dial("tcp", target)
	if err != nil {
		t.Fatalf("connecting to %s through %s's SOCKS5 proxy: %v", target, from.ID, err)
	}
	if served, err = service.Accept(); err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2]net.Conn{{client, served}, {served, client}} {
		if _, err := pair[0].Write([]byte{'x'}); err != nil {
			t.Fatal(err)
		}
		pair[1].SetReadDeadline(time.Now().Add(callTimeout))
		if _, err := io.ReadFull(pair[1], make([]byte, 1)); err != nil {
			t.Fatalf("relaying a byte between %s's SOCKS5 client and the service at %s: %v", from.ID, target, err)
		}
	}
	return client, served
}

// wantReset fails the test unless conn is reset (ECONNRESET) within a few
// seconds: a connection left open and silent, or ended in order, is not
// what a client waiting on a revoked peer must see.
func wantReset(t *testing.T, what string, conn net.Conn) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := conn.Read(make([]byte, 1))
	switch {
	case errors.Is(err, syscall.ECONNRESET):
	case errors.Is(err, os.ErrDeadlineExceeded):
		t.Errorf("%s: still open, silent", what)
	case err == io.EOF:
		t.Errorf("%s: ended in order (FIN), not reset", what)
	default:
		t.Errorf("%s: %v, want a reset", what, err)
	}
}

// applyWithCLI applies u to n with `rustynet membership apply-update`, as
// an operator does; n may already hold it (REPLAYED_UPDATE: a peer handed
// it over). It does not commit u to the cluster's chain.
func applyWithCLI(t *testing.T, c *Cluster, n *Node, u *membership.SignedUpdate) {
	t.Helper()
	file := filepath.Join(n.Dir, fmt.Sprintf("update-%d.json", u.Body.Epoch))
	if err := os.WriteFile(file, u.Encode(), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out := runCLI(t, c.opts.Bin, "membership", "apply-update", "--socket", n.Socket, file)
	if code != 0 && !strings.Contains(out, string(membership.ReplayedUpdate)) {
		t.Fatalf("rustynet membership apply-update on %s: exit %d\n%s", n.ID, code, out)
	}
}
