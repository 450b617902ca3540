package wgdev

import (
	"net/netip"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/device"
)

// wireguard-go keeps a peer's live figures (bytes sent and received, the
// time of its last handshake, its current, possibly roamed, endpoint, its
// keepalive interval) in unexported fields of device.Peer, and hands them
// out only as the UAPI text of the whole device (IpcGetOperation): at
// 10,000 peers ~10 ms of formatting while it holds the lock every peer
// change takes, then as long again to parse. State reads them in place
// instead, the way wireguard-go's own UAPI code reads them: atomics
// loaded, the endpoint read under its mutex.
//
// Nothing about device.Peer's layout is assumed: peerFields finds each
// field by name and checks its type when the package is initialised. If
// the wireguard-go in the build lacks one of them, or its type differs,
// livePeers is nil and State reads the UAPI text as before.
// TestLiveFiguresMatchUAPI holds both readings to the same figures on the
// wireguard-go in go.mod.

// peerLayout holds the offsets in device.Peer of the fields read.
type peerLayout struct {
	tx, rx    uintptr // txBytes, rxBytes: atomic.Uint64
	handshake uintptr // lastHandshakeNano: atomic.Int64, 0 if never
	keepalive uintptr // persistentKeepaliveInterval: atomic.Uint32, seconds
	endpoint  uintptr // endpoint.val: conn.Endpoint, nil if unknown
	endpointL uintptr // endpoint's embedded sync.Mutex, which guards val
}

// livePeers is device.Peer's layout, or nil if it is not the one expected.
var livePeers = peerFields(reflect.TypeFor[device.Peer]())

// peerFields returns the layout of the fields read in t (device.Peer), or
// nil if one is missing or not of the expected type.
func peerFields(t reflect.Type) *peerLayout {
	if t.Kind() != reflect.Struct {
		return nil
	}
	field := func(t reflect.Type, name string, want reflect.Type) (uintptr, bool) {
		if t.Kind() != reflect.Struct {
			return 0, false
		}
		f, ok := t.FieldByName(name)
		return f.Offset, ok && len(f.Index) == 1 && f.Type == want
	}
	var l peerLayout
	var ok [6]bool
	l.tx, ok[0] = field(t, "txBytes", reflect.TypeFor[atomic.Uint64]())
	l.rx, ok[1] = field(t, "rxBytes", reflect.TypeFor[atomic.Uint64]())
	l.handshake, ok[2] = field(t, "lastHandshakeNano", reflect.TypeFor[atomic.Int64]())
	l.keepalive, ok[3] = field(t, "persistentKeepaliveInterval", reflect.TypeFor[atomic.Uint32]())
	ep, found := t.FieldByName("endpoint")
	if !found || len(ep.Index) != 1 {
		return nil
	}
	var mu, val uintptr
	mu, ok[4] = field(ep.Type, "Mutex", reflect.TypeFor[sync.Mutex]())
	val, ok[5] = field(ep.Type, "val", reflect.TypeFor[conn.Endpoint]())
	for _, ok := range ok {
		if !ok {
			return nil
		}
	}
	l.endpointL, l.endpoint = ep.Offset+mu, ep.Offset+val
	return &l
}

// liveFigures are one peer's live figures.
type liveFigures struct {
	tx, rx    uint64
	handshake time.Time // zero if never
	keepalive time.Duration
	endpoint  netip.AddrPort // zero if unknown or not IP:port
}

// read reads p's live figures; l must be livePeers (non-nil).
func (l *peerLayout) read(p *device.Peer) liveFigures {
	base := unsafe.Pointer(p)
	f := liveFigures{
		tx:        (*atomic.Uint64)(unsafe.Add(base, l.tx)).Load(),
		rx:        (*atomic.Uint64)(unsafe.Add(base, l.rx)).Load(),
		keepalive: time.Duration((*atomic.Uint32)(unsafe.Add(base, l.keepalive)).Load()) * time.Second,
	}
	if nano := (*atomic.Int64)(unsafe.Add(base, l.handshake)).Load(); nano != 0 {
		f.handshake = time.Unix(0, nano)
	}
	mu := (*sync.Mutex)(unsafe.Add(base, l.endpointL))
	mu.Lock()
	if ep := *(*conn.Endpoint)(unsafe.Add(base, l.endpoint)); ep != nil {
		f.endpoint = endpointAddr(ep)
	}
	mu.Unlock()
	return f
}

// endpointAddr returns ep's destination, or the zero AddrPort for a bind
// whose endpoints are not IP:port. wireguard-go's standard endpoint (and
// any that embeds a netip.AddrPort) answers without formatting text.
func endpointAddr(ep conn.Endpoint) netip.AddrPort {
	if ap, ok := ep.(interface {
		Addr() netip.Addr
		Port() uint16
	}); ok {
		return netip.AddrPortFrom(ap.Addr(), ap.Port())
	}
	a, err := netip.ParseAddrPort(ep.DstToString())
	if err != nil {
		return netip.AddrPort{}
	}
	return a
}
