package netstack

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/device"
	upstream "golang.zx2c4.com/wireguard/tun/netstack"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// upstreamNode is plain wireguard-go on upstream's own gVisor netstack
// (golang.zx2c4.com/wireguard/tun/netstack), UDP on loopback: the peer
// BenchmarkThroughput measures this backend against. It has no proxies of
// its own; relay gives it the same host legs the backend's forward and
// expose are.
type upstreamNode struct {
	dev  *device.Device
	net  *upstream.Net
	ip   netip.Addr
	key  wgtypes.Key
	port int
}

// newUpstreamNode starts one device with mesh address ip and this
// backend's default MTU.
func newUpstreamNode(tb testing.TB, ip string) *upstreamNode {
	tb.Helper()
	n := &upstreamNode{ip: netip.MustParseAddr(ip)}
	tun, tnet, err := upstream.CreateNetTUN([]netip.Addr{n.ip}, nil, defaultMTU)
	if err != nil {
		tb.Fatal(err)
	}
	n.net = tnet
	n.dev = device.NewDevice(tun, conn.NewDefaultBind(), device.NewLogger(device.LogLevelSilent, ""))
	tb.Cleanup(n.dev.Close)
	if n.key, err = wgtypes.GeneratePrivateKey(); err != nil {
		tb.Fatal(err)
	}
	if err := n.dev.IpcSet("private_key=" + hex.EncodeToString(n.key[:]) + "\nlisten_port=0\n"); err != nil {
		tb.Fatal(err)
	}
	if err := n.dev.Up(); err != nil {
		tb.Fatal(err)
	}
	uapi, err := n.dev.IpcGet()
	if err != nil {
		tb.Fatal(err)
	}
	for line := range strings.Lines(uapi) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "listen_port="); ok {
			n.port, _ = strconv.Atoi(v)
		}
	}
	if n.port == 0 {
		tb.Fatalf("upstream device reports no listen port:\n%s", uapi)
	}
	return n
}

// connectUpstream makes a and b each other's peer over loopback.
func connectUpstream(tb testing.TB, a, b *upstreamNode) {
	tb.Helper()
	for _, p := range [][2]*upstreamNode{{a, b}, {b, a}} {
		pub := p[1].key.PublicKey()
		cfg := fmt.Sprintf("public_key=%s\nendpoint=127.0.0.1:%d\nallowed_ip=%s/32\n", hex.EncodeToString(pub[:]), p[1].port, p[1].ip)
		if err := p[0].dev.IpcSet(cfg); err != nil {
			tb.Fatal(err)
		}
	}
}

// relay accepts connections on ln until it is closed and joins each to a
// connection from dial, both ways, passing each half-close on: the shape
// of the backend's forward and expose.
func relay(tb testing.TB, ln net.Listener, dial func() (net.Conn, error)) {
	var wg sync.WaitGroup
	tb.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				d, err := dial()
				if err != nil {
					return
				}
				defer d.Close()
				var legs sync.WaitGroup
				legs.Go(func() { copyThenCloseWrite(d, c) })
				copyThenCloseWrite(c, d)
				legs.Wait()
			})
		}
	})
}

// copyThenCloseWrite copies src to dst until EOF, then half-closes dst.
func copyThenCloseWrite(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	} else {
		_ = dst.Close()
	}
}

// upstreamPath builds host → A's relay → tunnel → B's relay → host sink
// over two upstream nodes and returns the host address to push to.
func upstreamPath(tb testing.TB, s *sink) string {
	tb.Helper()
	from, to := newUpstreamNode(tb, "100.64.0.1"), newUpstreamNode(tb, "100.64.0.2")
	connectUpstream(tb, from, to)
	meshLn, err := to.net.ListenTCP(&net.TCPAddr{Port: sinkPort})
	if err != nil {
		tb.Fatal(err)
	}
	relay(tb, meshLn, func() (net.Conn, error) { return net.DialTimeout("tcp", s.addr.String(), ioTimeout) })
	hostLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	target := netip.AddrPortFrom(to.ip, sinkPort)
	relay(tb, hostLn, func() (net.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
		defer cancel()
		return from.net.DialContextTCPAddrPort(ctx, target)
	})
	return hostLn.Addr().String()
}
