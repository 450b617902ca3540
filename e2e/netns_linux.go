package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/proxy"

	"github.com/rustynet/rustynet/internal/netnstest"
	"github.com/rustynet/rustynet/internal/poll"
)

// in runs fn inside ns, or in this process's own namespace if ns is nil.
func in(ns *netnstest.Namespace, fn func() error) error {
	if ns == nil {
		return fn()
	}
	return ns.Do(fn)
}

// nsName names ns in messages.
func nsName(ns *netnstest.Namespace) string {
	if ns == nil {
		return "the host"
	}
	return ns.Name
}

// WhoAmI serves, inside ns (nil: the host's namespace), on addr (TCP and UDP, "0.0.0.0:port" for every
// address of ns): every TCP connection and every UDP datagram gets one
// line back, "from ADDR:PORT", the source address the server saw. A test
// tells by it which way its packets went (masqueraded by a router, through
// an exit, or direct). The sockets are closed at cleanup.
func WhoAmI(tb testing.TB, ns *netnstest.Namespace, addr string) {
	tb.Helper()
	var ln net.Listener
	var pc net.PacketConn
	err := in(ns, func() (err error) {
		if ln, err = net.Listen("tcp", addr); err != nil {
			return err
		}
		pc, err = net.ListenPacket("udp", addr)
		return err
	})
	if err != nil {
		tb.Fatalf("listening on %s in %s: %v", addr, nsName(ns), err)
	}
	done := make(chan struct{}, 2)
	tb.Cleanup(func() {
		ln.Close()
		pc.Close()
		<-done
		<-done
	})
	go func() {
		defer func() { done <- struct{}{} }()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "from %s\n", c.RemoteAddr())
			c.Close()
		}
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 1500)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo([]byte("from "+from.String()+"\n"), from)
		}
	}()
}

// AskWhoAmI connects from inside ns to a WhoAmI server at addr over
// network ("tcp" or "udp") and returns the source address the server saw.
// It gives up after timeout.
func AskWhoAmI(ns *netnstest.Namespace, network, addr string, timeout time.Duration) (netip.Addr, error) {
	var c net.Conn
	err := in(ns, func() (err error) {
		c, err = net.DialTimeout(network, addr, timeout)
		return err
	})
	if err != nil {
		return netip.Addr{}, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if network == "udp" {
		if _, err := c.Write([]byte("?")); err != nil {
			return netip.Addr{}, err
		}
	}
	return readWhoAmI(c)
}

// readWhoAmI reads a WhoAmI server's answer from c.
func readWhoAmI(c net.Conn) (netip.Addr, error) {
	line, err := bufio.NewReader(io.LimitReader(c, 128)).ReadString('\n')
	if err != nil {
		return netip.Addr{}, err
	}
	ap, err := netip.ParseAddrPort(strings.TrimSpace(strings.TrimPrefix(line, "from ")))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("answer %q: %v", line, err)
	}
	return ap.Addr().Unmap(), nil
}

// WantWhoAmI retries AskWhoAmI until it answers (a first packet waits for
// a WireGuard handshake) and fails the test unless the server saw the
// source want, or after within.
func WantWhoAmI(tb testing.TB, what string, ns *netnstest.Namespace, network, addr string, want netip.Addr, within time.Duration) {
	tb.Helper()
	var got netip.Addr
	var lastErr error
	err := poll.Until(within, 50*time.Millisecond, func() bool {
		got, lastErr = AskWhoAmI(ns, network, addr, 2*time.Second)
		return lastErr == nil
	})
	switch {
	case err != nil:
		tb.Fatalf("%s: %s %s from %s: no answer: %v (last error: %v)", what, network, addr, nsName(ns), err, lastErr)
	case got != want:
		tb.Fatalf("%s: %s %s from %s: the server saw %s, want %s", what, network, addr, nsName(ns), got, want)
	}
}

// WantNoWhoAmI fails the test if a WhoAmI server at addr answers a
// connection from inside ns within refusalWindow.
func WantNoWhoAmI(tb testing.TB, what string, ns *netnstest.Namespace, network, addr string) {
	tb.Helper()
	if got, err := AskWhoAmI(ns, network, addr, refusalWindow); err == nil {
		tb.Fatalf("%s: %s %s from %s answered (the server saw %s); want no way through", what, network, addr, nsName(ns), got)
	}
}

// socksWhoAmI connects, from inside ns, through the SOCKS5 proxy at socks
// to a WhoAmI server at target and returns the source address it saw.
func socksWhoAmI(ns *netnstest.Namespace, socks, target string) (netip.Addr, error) {
	return socksWhoAmIWithin(ns, socks, target, 2*time.Second)
}

// socksWhoAmIWithin is socksWhoAmI giving up after timeout, however far
// the proxy got.
func socksWhoAmIWithin(ns *netnstest.Namespace, socks, target string, timeout time.Duration) (netip.Addr, error) {
	d, err := proxy.SOCKS5("tcp", socks, nil, nsDialer{ns})
	if err != nil {
		return netip.Addr{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := d.(proxy.ContextDialer).DialContext(ctx, "tcp", target)
	if err != nil {
		return netip.Addr{}, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	return readWhoAmI(c)
}

// nsDialer dials from inside a namespace.
type nsDialer struct{ ns *netnstest.Namespace }

func (d nsDialer) Dial(network, addr string) (c net.Conn, err error) {
	err = in(d.ns, func() error {
		c, err = net.DialTimeout(network, addr, 2*time.Second)
		return err
	})
	return c, err
}
