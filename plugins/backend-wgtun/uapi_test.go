package wgtun

import (
	"bufio"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rustynet/rustynet/hostapi"
	"go.uber.org/goleak"
)

// pipeListener hands out the server ends of net.Pipe connections.
type pipeListener struct {
	conns  chan net.Conn
	closed chan struct{}
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error   { close(l.closed); return nil }
func (l *pipeListener) Addr() net.Addr { return &net.UnixAddr{Name: "pipe", Net: "unix"} }

// dial connects a client to the server behind l.
func (l *pipeListener) dial() net.Conn {
	client, server := net.Pipe()
	l.conns <- server
	return client
}

// uapiFixture serves a fixed state on a pipe listener.
// The server, its handlers and its connections are checked for leaks after
// the test.
func uapiFixture(t *testing.T) (*pipeListener, hostapi.PrivateKey, hostapi.InterfaceState) {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) })
	key := hostapi.PrivateKey{0xab}
	peer := hostapi.Key{0x01, 0x02}
	st := hostapi.InterfaceState{
		ListenPort: 51820,
		Peers: []hostapi.PeerState{{
			PublicKey:           peer,
			Endpoint:            netip.MustParseAddrPort("[fd00::2]:51820"),
			AllowedIPs:          pfx("198.18.0.2/32", "fd00:1::/64"),
			PersistentKeepalive: 25 * time.Second,
			LastHandshake:       time.Unix(1700000000, 123),
			RxBytes:             10,
			TxBytes:             20,
		}},
	}
	ln := newPipeListener()
	s := &uapiServer{ln: ln, log: slog.New(slog.DiscardHandler), conns: map[net.Conn]struct{}{},
		src: func() (hostapi.PrivateKey, hostapi.InterfaceState, error) { return key, st, nil }}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.close)
	return ln, key, st
}

// readAnswer reads one answer, up to and including its empty line.
func readAnswer(t *testing.T, r *bufio.Reader) []string {
	t.Helper()
	var lines []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read answer: %v (so far %q)", err, lines)
		}
		if line == "\n" {
			return lines
		}
		lines = append(lines, strings.TrimSuffix(line, "\n"))
	}
}

func TestUAPIGet(t *testing.T) {
	ln, key, st := uapiFixture(t)
	c := ln.dial()
	defer c.Close()
	r := bufio.NewReader(c)
	// Two gets on one connection, as wg may send.
	for range 2 {
		go io.WriteString(c, "get=1\n\n")
		got := readAnswer(t, r)
		p := st.Peers[0]
		want := []string{
			"private_key=" + hex.EncodeToString(key[:]),
			"listen_port=51820",
			"public_key=" + hex.EncodeToString(p.PublicKey[:]),
			"preshared_key=" + strings.Repeat("0", 64),
			"protocol_version=1",
			"endpoint=[fd00::2]:51820",
			"last_handshake_time_sec=1700000000",
			"last_handshake_time_nsec=123",
			"tx_bytes=20",
			"rx_bytes=10",
			"persistent_keepalive_interval=25",
			"allowed_ip=198.18.0.2/32",
			"allowed_ip=fd00:1::/64",
			"errno=0",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("get answer (-want +got):\n%s", diff)
		}
	}
}

func TestUAPISetIsRefused(t *testing.T) {
	ln, _, _ := uapiFixture(t)
	c := ln.dial()
	defer c.Close()
	go io.WriteString(c, "set=1\npublic_key="+strings.Repeat("11", 32)+"\nallowed_ip=10.0.0.0/8\n\n")
	got := readAnswer(t, bufio.NewReader(c))
	if diff := cmp.Diff([]string{"errno=-1"}, got); diff != "" {
		t.Errorf("set answer (-want +got):\n%s", diff)
	}
}

func TestUAPICloseEndsOpenConnections(t *testing.T) {
	defer goleak.VerifyNone(t)
	ln := newPipeListener()
	s := &uapiServer{ln: ln, log: slog.New(slog.DiscardHandler), conns: map[net.Conn]struct{}{},
		src: func() (hostapi.PrivateKey, hostapi.InterfaceState, error) {
			return hostapi.PrivateKey{}, hostapi.InterfaceState{}, nil
		}}
	s.wg.Add(1)
	go s.serve()
	c := ln.dial() // an idle client that never sends a request
	defer c.Close()
	done := make(chan struct{})
	go func() { s.close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("close did not return while a client was connected")
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("client connection still open after close")
	}
}
