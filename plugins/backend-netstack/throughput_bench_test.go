package netstack

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/plugins/internal/packetfilter/filtertest"
)

// throughputChunk is what one benchmark iteration sends.
const throughputChunk = 1 << 20

// sinkPort is the mesh port the receiving node exposes its sink on.
const sinkPort = 9

// BenchmarkThroughput pushes TCP data through two netstack backends on
// loopback (host → A's TCP forward → tunnel → B's expose → host sink) —
// without a packet filter, and with a 1,000-rule filter on both that
// admits the benchmark's connection — and, as the references in the same
// run, through two plain wireguard-go devices on upstream's netstack with
// the same host legs (upstream), and over plain TCP on loopback to the
// same kind of sink. It reports MB/s.
func BenchmarkThroughput(b *testing.B) {
	for _, filtered := range []bool{false, true} {
		name := "netstack"
		if filtered {
			name = "netstack-filter-1000"
		}
		b.Run(name, func(b *testing.B) {
			sink := startSink(b)
			to := newTestNode(b, "100.64.0.2", &hostapi.ProxyConfig{Exposes: []hostapi.Expose{{Proto: hostapi.ProtoTCP, MeshPort: sinkPort, Target: sink.addr}}})
			target := to.mesh(sinkPort)
			from := newTestNode(b, "100.64.0.1", &hostapi.ProxyConfig{Forwards: []hostapi.Forward{{Proto: hostapi.ProtoTCP, Listen: netip.AddrPortFrom(loopback, 0), Target: target}}})
			connect(b, from, to)
			if filtered {
				for _, n := range [][2]*testNode{{from, to}, {to, from}} {
					admit := hostapi.FilterRule{Src: n[1].addresses(), Dst: n[0].addresses(), Proto: hostapi.ProtoTCP}
					if err := n[0].b.SetFilter(context.Background(), filtertest.Synthetic(1000, 1, admit)); err != nil {
						b.Fatal(err)
					}
				}
			}
			push(b, serviceAddr(b, from, fmt.Sprintf("forward tcp 127.0.0.1:0->%s", target)), sink)
		})
	}
	b.Run("upstream", func(b *testing.B) {
		sink := startSink(b)
		push(b, upstreamPath(b, sink), sink)
	})
	b.Run("loopback", func(b *testing.B) {
		sink := startSink(b)
		push(b, sink.addr.String(), sink)
	})
}

// sink accepts TCP connections on the host's loopback and reports, per
// connection, how many bytes arrived before EOF (-1 on a read error).
type sink struct {
	addr     netip.AddrPort
	received chan int64
}

func startSink(tb testing.TB) *sink {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &sink{addr: ln.Addr().(*net.TCPAddr).AddrPort(), received: make(chan int64, 16)}
	done := make(chan struct{})
	tb.Cleanup(func() {
		ln.Close()
		<-done
	})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				n, err := io.Copy(io.Discard, c)
				if err != nil {
					n = -1
				}
				s.received <- n
			}()
		}
	}()
	return s
}

// push sends b.N chunks to addr, closes its side, and waits until s has
// received every byte.
func push(b *testing.B, addr string, s *sink) {
	b.Helper()
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, throughputChunk)
	b.SetBytes(throughputChunk)
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		b.Fatal(err)
	}
	timeout := time.NewTimer(ioTimeout + time.Duration(b.N)*time.Second)
	defer timeout.Stop()
	select {
	case got := <-s.received:
		if want := int64(b.N) * throughputChunk; got != want {
			b.Fatalf("sink received %d bytes, want %d", got, want)
		}
	case <-timeout.C:
		b.Fatal("timed out waiting for the sink to receive everything")
	}
	b.StopTimer()
}
