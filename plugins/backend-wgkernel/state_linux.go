package wgkernel

import (
	"bytes"
	"context"
	"errors"
	"slices"

	"github.com/rustynet/rustynet/hostapi"
)

// State reads the interface, its routes and its peers from the kernel,
// with each peer's current endpoint, last handshake and byte counters.
// Routes and peers are sorted (peers by public key).
//
// The kernel is the source of truth and is read under the device's
// serializer, so that no change of this backend is half-way through.
// Concurrent States share one read (readgroup.Group), so a change waits
// for at most one read however many clients ask: the result's slices may
// be shared with other callers and must not be modified.
func (b *Backend) State(ctx context.Context) (hostapi.InterfaceState, error) {
	for {
		st, err := b.reads.Do(func() (hostapi.InterfaceState, error) { return b.readState(ctx) })
		var gone callerGone
		if !errors.As(err, &gone) {
			return st, err
		}
		if ctx.Err() != nil {
			return hostapi.InterfaceState{}, gone.err
		}
		// The read was another caller's, who gave up waiting: read again.
	}
}

// callerGone is readState's error when its caller's context ended while it
// waited for the device: the callers who shared the read read again.
type callerGone struct{ err error }

func (e callerGone) Error() string { return e.err.Error() }
func (e callerGone) Unwrap() error { return e.err }

// readState reads the interface, its routes and its peers from the
// kernel for State, with the context of the caller whose read it is.
func (b *Backend) readState(ctx context.Context) (hostapi.InterfaceState, error) {
	dev, err := b.lock(ctx, false)
	if err != nil {
		if ctx.Err() != nil {
			return hostapi.InterfaceState{}, callerGone{err}
		}
		return hostapi.InterfaceState{}, err
	}
	defer b.serial.release()
	wd, err := dev.wg.Device(dev.iface.name)
	if err != nil {
		return hostapi.InterfaceState{}, sysErr("reading WireGuard device "+dev.iface.name, err)
	}
	addrs, err := dev.addresses()
	if err != nil {
		return hostapi.InterfaceState{}, err
	}
	routes, err := dev.host.Routes()
	if err != nil {
		return hostapi.InterfaceState{}, err
	}
	st := hostapi.InterfaceState{
		Name:       dev.iface.name,
		PublicKey:  hostapi.Key(wd.PublicKey),
		ListenPort: uint16(wd.ListenPort),
		Addresses:  addrs,
		Routes:     routes,
		Peers:      make([]hostapi.PeerState, 0, len(wd.Peers)),
	}
	for _, p := range wd.Peers {
		st.Peers = append(st.Peers, hostapi.PeerState{
			PublicKey:           hostapi.Key(p.PublicKey),
			Endpoint:            udpAddrPort(p.Endpoint),
			AllowedIPs:          prefixes(p.AllowedIPs),
			PersistentKeepalive: p.PersistentKeepaliveInterval,
			LastHandshake:       p.LastHandshakeTime,
			RxBytes:             uint64(p.ReceiveBytes),
			TxBytes:             uint64(p.TransmitBytes),
		})
	}
	slices.SortFunc(st.Peers, func(a, b hostapi.PeerState) int {
		return bytes.Compare(a.PublicKey[:], b.PublicKey[:])
	})
	return st, nil
}
