package wgdev

import (
	"sync"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/plugins/internal/packetfilter"
	"golang.zx2c4.com/wireguard/tun"
)

// filteredTUN is the tun.Device wireguard-go drives: the backend's own (a
// TUN device, or the netstack link) with the packet filter in its path.
// Every packet wireguard-go writes — decrypted, from a peer — is judged
// before it reaches the device: what the filter drops never reaches the
// operating system, the stack or, on a gateway, a forwarded destination.
// Every packet wireguard-go reads — to be encrypted for a peer — is shown
// to the filter, so that replies to connections opened from this side
// pass.
type filteredTUN struct {
	tun.Device
	filter *packetfilter.Filter
	// scratch holds the [][]byte a Write passes on when it drops some of
	// its packets; wireguard-go writes from a goroutine per peer.
	scratch sync.Pool
}

var _ tun.Device = (*filteredTUN)(nil)

func newFilteredTUN(dev tun.Device, f *packetfilter.Filter) *filteredTUN {
	t := &filteredTUN{Device: dev, filter: f}
	t.scratch.New = func() any {
		s := make([][]byte, 0, dev.BatchSize())
		return &s
	}
	return t
}

// Read reads packets leaving for peers and shows them to the filter.
func (t *filteredTUN) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	n, err := t.Device.Read(bufs, sizes, offset)
	if n > 0 {
		t.filter.ToPeers(bufs[:n], sizes[:n], offset)
	}
	return n, err
}

// Write writes the packets from peers that the filter passes. It reports
// every packet as written: a dropped packet is handled.
func (t *filteredTUN) Write(bufs [][]byte, offset int) (int, error) {
	sp := t.scratch.Get().(*[][]byte)
	pass := t.filter.FromPeers(bufs, offset, *sp)
	var err error
	if len(pass) > 0 {
		_, err = t.Device.Write(pass, offset)
	}
	if len(pass) < len(bufs) { // pass is the scratch slice
		clear(pass) // holds wireguard-go's buffers no longer
		*sp = pass[:0]
	}
	t.scratch.Put(sp)
	return len(bufs), err
}

// SetFilter replaces the packet filter on the packets from peers, as
// hostapi.Backend.SetFilter states (see plugins/internal/packetfilter for
// how, and its bounds). Before the first SetFilter nothing is filtered.
// Errors: hostapi.ErrInvalidArgument (nothing changed), hostapi.ErrClosed.
func (d *Device) SetFilter(f hostapi.Filter) error {
	if err := hostapi.CheckFilter(f); err != nil {
		return err
	}
	d.lock.lock(false)
	defer d.lock.unlock()
	if d.phase != phaseUp {
		return hostapi.ErrClosed
	}
	return d.filter.Set(f)
}

// FilterStats returns the packet filter's counters and table size.
func (d *Device) FilterStats() packetfilter.Stats { return d.filter.Stats() }
