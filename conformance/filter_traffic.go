package conformance

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/rustynet/rustynet/internal/echoserver"
)

// UDP and ICMP through the tunnel, for the packet filter's cases: a node's
// UDP echo service answers on its udpPorts (on a proxied node through
// UDP exposes to an echo service on its 127.0.0.1), and a node sends to
// its udpDests (through UDP forwards when proxied). ICMP echo can only be
// sent from an OS interface: a proxied node has no way to originate it.

// udpEchoAt runs a UDP echo service (package echoserver) on ap in node
// until the case ends and returns the address it listens on.
func udpEchoAt(env *Env, node *Node, ap netip.AddrPort) (netip.AddrPort, error) {
	var pc net.PacketConn
	err := node.do(func() error {
		var err error
		pc, err = net.ListenPacket("udp", ap.String())
		return err
	})
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("listen for UDP on %s in node %s: %w", ap, node.Name, err)
	}
	u := echoserver.ServeUDP(pc)
	env.Cleanup(func() { _ = u.Close() })
	return u.Addr(), nil
}

// udpAttempt is how long a datagram's echo is waited for before the
// datagram is sent again (UDP may lose the first while a handshake runs).
const udpAttempt = 500 * time.Millisecond

// udpEchoes sends datagrams from n to the UDP echo service at mesh
// destination dst, one every udpAttempt, and reports whether one came back
// within wait.
func (n *tnode) udpEchoes(ctx context.Context, dst netip.AddrPort, wait time.Duration) (bool, error) {
	target := dst
	if n.udpFwd != nil {
		var ok bool
		if target, ok = n.udpFwd[dst]; !ok {
			return false, fmt.Errorf("conformance: node %s has no UDP forward to %s", n.b.Node.Name, dst)
		}
	}
	var c net.Conn
	if err := n.b.Node.do(func() error {
		var err error
		c, err = net.Dial("udp", target.String())
		return err
	}); err != nil {
		return false, fmt.Errorf("UDP socket to %s in node %s: %w", target, n.b.Node.Name, err)
	}
	defer c.Close()
	msg := sized("udp", 64)
	buf := make([]byte, 2*len(msg))
	for deadline := time.Now().Add(wait); time.Now().Before(deadline) && ctx.Err() == nil; {
		if _, err := c.Write(msg); err != nil && !errors.Is(err, net.ErrClosed) {
			continue // an ICMP error from an earlier datagram, reported late: try again
		}
		_ = c.SetReadDeadline(time.Now().Add(udpAttempt))
		if k, err := c.Read(buf); err == nil && string(buf[:k]) == string(msg) {
			return true, nil
		}
	}
	return false, ctx.Err()
}

// pings sends ICMP (ICMPv6) echo requests from n's node to dst, one every
// udpAttempt, over a raw socket, and reports whether a reply came within
// wait. n must carry traffic through its OS interface (osRouted).
func (n *tnode) pings(ctx context.Context, dst netip.Addr, wait time.Duration) (bool, error) {
	network, request, reply := "ip4:icmp", byte(8), byte(0)
	if dst.Is6() {
		network, request, reply = "ip6:ipv6-icmp", 128, 129
	}
	var pc net.PacketConn
	if err := n.b.Node.do(func() error {
		var err error
		pc, err = net.ListenPacket(network, "")
		return err
	}); err != nil {
		return false, fmt.Errorf("raw ICMP socket in node %s: %w", n.b.Node.Name, err)
	}
	defer pc.Close()
	var id [2]byte
	_, _ = rand.Read(id[:])
	msg := []byte{request, 0, 0, 0, id[0], id[1], 0, 1}
	if dst.Is4() { // the kernel sums ICMPv6 itself
		sum := uint32(request)<<8 + uint32(binary.BigEndian.Uint16(id[:])) + 1
		sum = sum>>16 + sum&0xffff
		binary.BigEndian.PutUint16(msg[2:], ^uint16(sum+sum>>16))
	}
	buf := make([]byte, 1500)
	for deadline := time.Now().Add(wait); time.Now().Before(deadline) && ctx.Err() == nil; {
		if _, err := pc.WriteTo(msg, &net.IPAddr{IP: dst.AsSlice()}); err != nil {
			return false, fmt.Errorf("sending an echo request to %s: %w", dst, err)
		}
		_ = pc.SetReadDeadline(time.Now().Add(udpAttempt))
		for {
			k, from, err := pc.ReadFrom(buf)
			if err != nil {
				break
			}
			src, _ := netip.AddrFromSlice(from.(*net.IPAddr).IP)
			if k >= 8 && buf[0] == reply && buf[4] == id[0] && buf[5] == id[1] && src.Unmap() == dst {
				return true, nil
			}
		}
	}
	return false, ctx.Err()
}
