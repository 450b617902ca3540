package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/rustynet/rustynet/core/config"
	"github.com/rustynet/rustynet/hostapi"
)

// configListener is an address a configuration has the node listen on,
// with the key that sets it.
type configListener struct {
	key     string // "proxy.socks5", "backend.listen_port", ...
	network string // "tcp" or "udp"
	addr    string // "127.0.0.1:1080", ":51820"
}

// pluginListeners returns the addresses cfg has the backend plugin listen
// on: the proxies, each forward, and the WireGuard port. (The daemon binds
// the control socket and the metrics endpoint itself.)
func pluginListeners(cfg *config.Config) []configListener {
	var out []configListener
	if a := cfg.Proxy.SOCKS5; a.IsValid() {
		out = append(out, configListener{"proxy.socks5", "tcp", a.String()})
	}
	if a := cfg.Proxy.HTTP; a.IsValid() {
		out = append(out, configListener{"proxy.http", "tcp", a.String()})
	}
	for _, f := range cfg.Proxy.Forwards {
		network := "tcp"
		if f.Proto == hostapi.ProtoUDP {
			network = "udp"
		}
		out = append(out, configListener{"proxy.forward.listen", network, f.Listen.String()})
	}
	if p := cfg.Backend.ListenPort; p != 0 {
		out = append(out, configListener{"backend.listen_port", "udp", ":" + strconv.Itoa(int(p))})
	}
	return out
}

// addrInUse reports whether err says that an address is in use: by its
// errno, or by the errno's text for an error that crossed the plugin
// process boundary as text.
func addrInUse(err error) bool {
	return errors.Is(err, errAddrInUse) || strings.Contains(err.Error(), errAddrInUse.Error())
}

// inUse reports whether another program listens on l's address now.
func (l configListener) inUse() bool {
	var err error
	if l.network == "udp" {
		var c net.PacketConn
		if c, err = net.ListenPacket("udp", l.addr); err == nil {
			c.Close()
		}
	} else {
		var ln net.Listener
		if ln, err = net.Listen("tcp", l.addr); err == nil {
			ln.Close()
		}
	}
	return err != nil && addrInUse(err)
}

// busyListeners explains a node that failed to start (err) because an
// address it was to listen on is taken: a usage error naming each such
// key of cfg and its address, with what to do. It returns nil unless err
// says an address was in use and one of cfg's still is (the daemon's
// plugins have exited by now, so what holds it is another program).
func busyListeners(cfg *config.Config, err error) error {
	if !addrInUse(err) {
		return nil
	}
	var busy config.ErrorList
	for _, l := range pluginListeners(cfg) {
		if l.inUse() {
			busy = append(busy, &config.Error{File: cfg.File, Key: l.key, Msg: l.addr + " is in use by another program"})
		}
	}
	if len(busy) == 0 {
		return nil
	}
	return listenUsage(busy)
}

// listenError reports that the daemon cannot listen at the address key
// of cfg sets: a usage error naming the key, saying whether another
// program holds the address.
func listenError(cfg *config.Config, key, addr string, err error) error {
	msg := joinContext("cannot listen on "+addr, err.Error())
	if addrInUse(err) {
		msg = addr + " is in use by another program"
	}
	return listenUsage(config.ErrorList{{File: cfg.File, Key: key, Msg: msg}})
}

// listenUsage is the usage error for addresses the node cannot listen
// on, one line each, with the next step.
func listenUsage(l config.ErrorList) error {
	ce := asCLIError(usageErrorf("%v", l))
	ce.hint = fmt.Sprintf("%sstop the program listening there (a daemon already running with this configuration?), "+
		"or set another address for %s in %s", hintPrefix, l[0].Key, l[0].File)
	return ce
}
