package wgdev

import (
	"bytes"
	"crypto/rand"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/rustynet/rustynet/hostapi"
	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/tun/tuntest"
)

// newKey returns a fresh private key and its public key.
func newKey(tb testing.TB) (hostapi.PrivateKey, hostapi.Key) {
	tb.Helper()
	var k hostapi.PrivateKey
	if _, err := rand.Read(k[:]); err != nil {
		tb.Fatal(err)
	}
	k[0] &= 248
	k[31] = (k[31] & 127) | 64
	return k, publicKey(k)
}

// node is one Device on an in-memory TUN and a real UDP socket.
type node struct {
	tun  *tuntest.ChannelTUN
	dev  *Device
	pub  hostapi.Key
	ip   netip.Addr
	port uint16
}

func newNode(tb testing.TB, ip string) *node {
	tb.Helper()
	return newNodeWithBind(tb, ip, conn.NewDefaultBind())
}

func newNodeWithBind(tb testing.TB, ip string, bind conn.Bind) *node {
	tb.Helper()
	priv, pub := newKey(tb)
	n := &node{tun: tuntest.NewChannelTUN(), pub: pub, ip: netip.MustParseAddr(ip)}
	n.dev = New(n.tun.TUN(), bind, nil)
	tb.Cleanup(func() {
		if err := n.dev.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	if err := n.dev.Configure(hostapi.InterfaceConfig{PrivateKey: priv}); err != nil {
		tb.Fatalf("Configure: %v", err)
	}
	st, err := n.dev.State()
	if err != nil {
		tb.Fatalf("State: %v", err)
	}
	if st.ListenPort == 0 {
		tb.Fatal("got listen port 0 after Configure, want the port the device chose")
	}
	n.port = st.ListenPort
	return n
}

// peerOf is how other nodes configure n: its /32 and, if withEndpoint, its
// loopback endpoint.
func (n *node) peerOf(withEndpoint bool) hostapi.PeerConfig {
	p := hostapi.PeerConfig{PublicKey: n.pub, AllowedIPs: []netip.Prefix{netip.PrefixFrom(n.ip, 32)}}
	if withEndpoint {
		p.Endpoint = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), n.port)
	}
	return p
}

// connect makes a and b peers of each other; a knows b's endpoint.
func connect(tb testing.TB, a, b *node) {
	tb.Helper()
	if err := a.dev.ApplyPeers(hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{b.peerOf(true)}}); err != nil {
		tb.Fatalf("a.ApplyPeers: %v", err)
	}
	if err := b.dev.ApplyPeers(hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{a.peerOf(false)}}); err != nil {
		tb.Fatalf("b.ApplyPeers: %v", err)
	}
}

// ping sends one ICMP echo from src to dst through the tunnel and waits for
// dst's TUN to receive it.
func ping(tb testing.TB, src, dst *node) {
	tb.Helper()
	if err := tryPing(src, dst, 10*time.Second); err != nil {
		tb.Fatal(err)
	}
}

var errNoArrival = errors.New("packet did not arrive")

func tryPing(src, dst *node, wait time.Duration) error {
	msg := tuntest.Ping(dst.ip, src.ip)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case src.tun.Outbound <- msg:
	case <-timer.C:
		return errors.New("source TUN did not take the packet")
	}
	for {
		select {
		case got := <-dst.tun.Inbound:
			if bytes.Equal(got, msg) {
				return nil
			}
		case <-timer.C:
			return errNoArrival
		}
	}
}

// peerState returns n's state of peer k.
func peerState(tb testing.TB, n *node, k hostapi.Key) (hostapi.PeerState, bool) {
	tb.Helper()
	st, err := n.dev.State()
	if err != nil {
		tb.Fatalf("State: %v", err)
	}
	for _, p := range st.Peers {
		if p.PublicKey == k {
			return p, true
		}
	}
	return hostapi.PeerState{}, false
}
