package wgkernel

import (
	"bytes"
	"context"
	"slices"

	"github.com/rustynet/rustynet/hostapi"
)

// State reads the interface, its routes and its peers from the kernel,
// with each peer's current endpoint, last handshake and byte counters.
// Routes and peers are sorted (peers by public key).
func (b *Backend) State(ctx context.Context) (hostapi.InterfaceState, error) {
	dev, err := b.lock(ctx, false)
	if err != nil {
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
