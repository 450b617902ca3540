package controlapi

import (
	"context"
	"fmt"
	"net"
)

// Peer is the process at the other end of a control connection, as the
// kernel reported it when the connection was accepted.
type Peer struct {
	UID uint32 // effective user id (Unix; 0 on Windows)
	GID uint32 // effective group id (Unix; 0 on Windows)
	// Groups are the process's supplementary groups when the kernel reports
	// them (macOS); nil elsewhere.
	Groups []uint32
	PID    int // 0 if the platform does not report it
}

// String describes the peer for logs.
func (p Peer) String() string {
	return fmt.Sprintf("uid %d gid %d pid %d", p.UID, p.GID, p.PID)
}

// Authorizer decides who may use the control API.
type Authorizer interface {
	// Authorize returns nil if p may use the API, else an error saying why.
	// The server refuses the request with 403 FORBIDDEN and logs the error.
	Authorize(p Peer) error
}

// AuthorizerFunc adapts a function to Authorizer.
type AuthorizerFunc func(Peer) error

// Authorize calls f(p).
func (f AuthorizerFunc) Authorize(p Peer) error { return f(p) }

type peerKey struct{}

// peerResult is what ConnContext learned about a connection.
type peerResult struct {
	peer Peer
	err  error
}

// withPeer is the server's ConnContext: it looks up the peer of c once per
// connection.
func withPeer(ctx context.Context, c net.Conn) context.Context {
	p, err := peerOf(c)
	return context.WithValue(ctx, peerKey{}, peerResult{p, err})
}

// PeerFromContext returns the peer of the request whose context ctx is, as
// the server passes it to a Handler, so the daemon can log who changed what.
func PeerFromContext(ctx context.Context) (Peer, bool) {
	r, ok := ctx.Value(peerKey{}).(peerResult)
	return r.peer, ok && r.err == nil
}
