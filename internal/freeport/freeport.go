// Package freeport picks loopback ports for processes that a test or the
// demo starts later and tells which port to listen on.
package freeport

import (
	"fmt"
	"net"
	"sync"
)

// Pick returns a port of network ("tcp" or "udp") on 127.0.0.1 that was
// free a moment ago and that no earlier Pick of this process returned for
// that network: ports picked one after another, each closed before the
// next, may otherwise come back the same. Another process may still take
// it before its user listens on it.
func Pick(network string) (uint16, error) {
	handedOut.Lock()
	defer handedOut.Unlock()
	for {
		var (
			port uint16
			err  error
		)
		switch network {
		case "tcp":
			port, err = pickTCP()
		case "udp":
			port, err = pickUDP()
		default:
			return 0, fmt.Errorf("freeport: unknown network %q", network)
		}
		if err != nil {
			return 0, err
		}
		k := key{network, port}
		if !handedOut.ports[k] {
			handedOut.ports[k] = true
			return port, nil
		}
	}
}

func pickTCP() (uint16, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port), nil
}

func pickUDP() (uint16, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return uint16(c.LocalAddr().(*net.UDPAddr).Port), nil
}

type key struct {
	network string
	port    uint16
}

// handedOut holds the ports Pick has returned.
var handedOut = struct {
	sync.Mutex
	ports map[key]bool
}{ports: make(map[key]bool)}
