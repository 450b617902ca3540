// Package wgdev drives one wireguard-go device according to the
// hostapi.Backend contract. It is what the userspace backends (netstack and
// wgtun) share: interface settings and peer changes through wireguard-go's
// UAPI, validation of a change against the whole resulting peer set before
// anything is touched, removals that go before queued work, reading the
// device back as a hostapi.InterfaceState, and the packet filter
// (hostapi.Backend.SetFilter): a plugins/internal/packetfilter.Filter
// between wireguard-go and the backend's tun.Device, which judges every
// packet from a peer before the device gets it and sees every packet to a
// peer (filteredTUN).
package wgdev

import (
	"bytes"
	"errors"
	"io/fs"
	"log/slog"
	"net/netip"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/readgroup"
	"github.com/rustynet/rustynet/plugins/internal/packetfilter"
	"golang.org/x/crypto/curve25519"
	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/device"
	"golang.zx2c4.com/wireguard/tun"
)

// Device drives one wireguard-go device according to the hostapi.Backend
// contract.
//
// Lifecycle: New → Configure (brings the device up) → ApplyPeers,
// RemovePeers, State, SetFirewallMark, SetFilter → Close. Before the first successful
// Configure and after Close, every method but Close returns
// hostapi.ErrClosed. A method that returns an error has changed nothing.
// Methods are safe for concurrent use; mutations are serialised, and
// RemovePeers goes before mutations that are still waiting.
type Device struct {
	dev    *device.Device
	tun    tun.Device
	log    *slog.Logger
	filter *packetfilter.Filter // has its own locks

	lock  prioLock                                // serialises every method but the constructor; State holds it only briefly
	reads readgroup.Group[hostapi.InterfaceState] // coalesces the device reads of concurrent States; used without lock
	spare spareState                              // a State result handed back (RecycleState), for the next read; its own lock
	order keyOrder                                // the order State last sorted the peers in; its own lock

	// Guarded by lock.
	phase phase
	cfg   hostapi.InterfaceConfig // last applied
	pub   hostapi.Key             // public key of cfg.PrivateKey
	port  uint16                  // the UDP port the device listens on
	set   *hostapi.PeerSet        // the peers as configured through this Device
	// changes counts the calls that may change the device's peers
	// (Configure: a new key drops the peer that has it; ApplyPeers,
	// RemovePeers, Close), whether they succeed or not: State's keyOrder
	// looks the peers up again after each.
	changes uint64
	mark    uint32 // firewall mark of the device's sockets; 0: none
}

type phase uint8

const (
	phaseNew phase = iota
	phaseUp
	phaseClosed
)

// New wraps tunDev and bind in a new wireguard-go device, down and without
// keys or peers, with a packet filter that filters nothing until
// SetFilter. The Device owns both from now on: Close closes them. A nil
// logger discards logs.
func New(tunDev tun.Device, bind conn.Bind, logger *slog.Logger) *Device {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	filter := packetfilter.New(packetfilter.Config{Logger: logger})
	return &Device{
		dev:    device.NewDevice(newFilteredTUN(tunDev, filter), bind, deviceLogger(logger)),
		tun:    tunDev,
		log:    logger,
		filter: filter,
		set:    hostapi.NewPeerSet(),
	}
}

// Configure sets the private key and listen port and, on the first call,
// brings the device up. A zero ListenPort lets the device choose a port on
// the first call and keeps the current port later. Peers and their sessions
// survive a later call unless the private key changes, which (as in
// WireGuard) expires every session. Configure records Name and Addresses for
// State but does not apply them: that is the tun device's business; it
// ignores MTU, Proxy and UAPI for the same reason.
//
// Errors: hostapi.ErrInvalidArgument for a zero private key or one whose
// public key is a configured peer; hostapi.ErrUnavailable if the port cannot
// be bound; hostapi.ErrClosed after Close.
func (d *Device) Configure(cfg hostapi.InterfaceConfig) error {
	if cfg.PrivateKey.IsZero() {
		return hostapi.Errorf(hostapi.CodeInvalidArgument, "zero private key")
	}
	pub := publicKey(cfg.PrivateKey)
	d.lock.lock(false)
	defer d.lock.unlock()
	d.changes++
	if d.phase == phaseClosed {
		return hostapi.ErrClosed
	}
	if _, ok := d.set.Peer(pub); ok {
		return hostapi.Errorf(hostapi.CodeInvalidArgument, "the private key's public key %s is a configured peer", pub)
	}

	var b strings.Builder
	if d.phase == phaseNew || cfg.PrivateKey != d.cfg.PrivateKey {
		writeHexLine(&b, "private_key", cfg.PrivateKey)
	}
	portChange := cfg.ListenPort != 0 && cfg.ListenPort != d.port
	if d.phase == phaseNew || portChange {
		writeLine(&b, "listen_port", strconv.Itoa(int(cfg.ListenPort)))
	}
	if b.Len() == 0 {
		// Neither key nor port changes (e.g. only the proxies' names do):
		// nothing for wireguard-go, and no read-back of its whole peer set
		// (IpcGet, tens of ms at 10,000 peers) under the device's lock.
		d.cfg = cfg
		return nil
	}
	if err := d.dev.IpcSet(b.String()); err != nil {
		d.undoConfigure()
		return hostapi.Errorf(hostapi.CodeUnavailable, "configure: %v", err)
	}
	if d.phase == phaseNew {
		if err := d.dev.Up(); err != nil {
			return hostapi.Errorf(hostapi.CodeUnavailable, "bring device up: %v", err)
		}
	}
	port := d.port
	if d.phase == phaseNew || portChange {
		var err error
		if port, err = d.listenPort(); err != nil {
			return err
		}
	}
	d.cfg, d.pub, d.port, d.phase = cfg, pub, port, phaseUp
	return nil
}

// undoConfigure puts back the key and port of the last successful
// Configure after a failed one (a failed rebind leaves wireguard-go with no
// socket at all).
func (d *Device) undoConfigure() {
	if d.phase == phaseNew {
		return
	}
	var b strings.Builder
	writeHexLine(&b, "private_key", d.cfg.PrivateKey)
	writeLine(&b, "listen_port", strconv.Itoa(int(d.port)))
	if err := d.dev.IpcSet(b.String()); err != nil {
		d.log.Error("wgdev: restoring the previous key and port failed", "port", d.port, "err", err)
	}
}

// listenPort reads the port the device listens on.
func (d *Device) listenPort() (uint16, error) {
	st, err := d.ipcState(d.set.Len())
	if err != nil {
		return 0, err
	}
	return st.ListenPort, nil
}

// ApplyPeers removes every key in c.Remove, then creates or updates in place
// every peer in c.Upsert, after validating the resulting set as a whole with
// hostapi.PeerSet (the device's own public key is not a peer; at most
// wireguard-go's device.MaxPeers peers). An update keeps the peer's session
// and handshake; a zero
// Endpoint on update keeps the current one, and an unchanged endpoint is
// not re-sent, so a roamed endpoint survives. Errors:
// hostapi.ErrInvalidArgument (nothing changed), hostapi.ErrClosed, or
// hostapi.ErrInternal if wireguard-go refused a validated change (the
// previous peers are put back).
func (d *Device) ApplyPeers(c hostapi.PeerChanges) error {
	if len(c.Upsert)+len(c.Remove) >= BulkChange {
		defer debug.FreeOSMemory() // after the unlock below
	}
	d.lock.lock(false)
	defer d.lock.unlock()
	d.changes++
	if d.phase != phaseUp {
		return hostapi.ErrClosed
	}
	p, err := d.set.Plan(c, hostapi.PeerLimits{Self: d.pub, MaxPeers: device.MaxPeers})
	if err != nil {
		return err
	}

	var b strings.Builder
	for _, u := range p.Upsert {
		writeUpsert(&b, u)
	}
	for _, k := range p.Remove {
		d.dev.RemovePeer(device.NoisePublicKey(k))
	}
	if b.Len() > 0 {
		if err := d.dev.IpcSet(b.String()); err != nil {
			d.rollback(p)
			return hostapi.Errorf(hostapi.CodeInternal, "wireguard-go refused the change: %v", err)
		}
	}
	d.set.Commit(p)
	return nil
}

// rollback puts every peer p touched back as it was before p.
func (d *Device) rollback(p hostapi.PeerPlan) {
	var b strings.Builder
	touched := make([]hostapi.Key, 0, len(p.Remove)+len(p.Upsert))
	touched = append(touched, p.Remove...)
	for _, u := range p.Upsert {
		touched = append(touched, u.Peer.PublicKey)
	}
	for _, k := range touched {
		if _, ok := d.set.Peer(k); !ok {
			writeRemove(&b, k)
		}
	}
	for _, k := range touched {
		if old, ok := d.set.Peer(k); ok {
			writeRestore(&b, old)
		}
	}
	if err := d.dev.IpcSet(b.String()); err != nil {
		d.log.Error("wgdev: rolling back a failed peer change failed", "err", err)
	}
}

// Owners returns, for each address, the peer its packets go to as the
// peers configured through this Device stand (hostapi.PeerSet.Owner: the
// longest match of their allowed IPs); the zero key where no peer's
// allowed IPs cover it. Errors: hostapi.ErrClosed.
func (d *Device) Owners(addrs []netip.Addr) ([]hostapi.Key, error) {
	d.lock.lock(false)
	defer d.lock.unlock()
	if d.phase != phaseUp {
		return nil, hostapi.ErrClosed
	}
	keys := make([]hostapi.Key, len(addrs))
	for i, a := range addrs {
		keys[i], _ = d.set.Owner(a)
	}
	return keys, nil
}

// RemovePeers removes the peers with these keys at once: wireguard-go stops
// them, drops their keys, queued packets and allowed IPs before RemovePeers
// returns. Zero and absent keys are ignored; peers added to the device
// behind this Device's back are removed too. Errors: hostapi.ErrClosed.
func (d *Device) RemovePeers(keys []hostapi.Key) error {
	d.lock.lock(true)
	defer d.lock.unlock()
	d.changes++
	if d.phase != phaseUp {
		return hostapi.ErrClosed
	}
	for _, k := range keys {
		if !k.IsZero() {
			d.dev.RemovePeer(device.NoisePublicKey(k))
		}
	}
	d.set.Commit(hostapi.PeerPlan{Remove: keys})
	return nil
}

// SetFirewallMark sets the firewall mark (SO_MARK on Linux) that the
// device's own UDP packets carry from now on, also after a change of listen
// port; 0 clears it. Policy routing keys on it to keep the tunnel's
// encrypted packets out of a default route into the tunnel. Setting a mark
// needs CAP_NET_ADMIN; on systems without socket marks the bind ignores it.
// Errors: hostapi.ErrClosed; hostapi.ErrPermission or
// hostapi.ErrUnavailable if the sockets refused the mark, after which the
// previous mark is put back.
func (d *Device) SetFirewallMark(mark uint32) error {
	d.lock.lock(false)
	defer d.lock.unlock()
	if d.phase != phaseUp {
		return hostapi.ErrClosed
	}
	if mark == d.mark {
		return nil
	}
	var b strings.Builder
	writeLine(&b, "fwmark", strconv.FormatUint(uint64(mark), 10))
	if err := d.dev.IpcSet(b.String()); err != nil {
		// wireguard-go records the mark before the sockets refuse it.
		var back strings.Builder
		writeLine(&back, "fwmark", strconv.FormatUint(uint64(d.mark), 10))
		if uerr := d.dev.IpcSet(back.String()); uerr != nil {
			d.log.Error("wgdev: restoring the previous firewall mark failed", "mark", d.mark, "err", uerr)
		}
		code := hostapi.CodeUnavailable
		if errors.Is(err, fs.ErrPermission) {
			code = hostapi.CodePermission
		}
		return hostapi.Errorf(code, "set firewall mark %d: %v", mark, err)
	}
	d.mark = mark
	return nil
}

// State reads the device back: Name (the tun device's), the public key, the
// listen port, the Addresses last passed to Configure, and every peer with
// its live endpoint, last handshake, byte counters, persistent keepalive and
// allowed IPs (sorted), peers sorted by public key. Errors: hostapi.ErrClosed.
//
// The peers are one snapshot, taken after State was called: the peers
// configured through this Device (no other path adds any: a UAPI socket
// of a backend is read-only) that wireguard-go holds, with the figures it
// keeps for each (livestats.go). State holds the Device's lock only to
// copy its peer set, never while the device is read, and takes no lock
// of wireguard-go's that a peer change holds for longer than a map
// lookup. Concurrent States share one read (readgroup.Group): the Peers
// slice and the peers' AllowedIPs may be shared with other callers and
// must not be modified.
func (d *Device) State() (hostapi.InterfaceState, error) {
	d.lock.lock(false)
	if d.phase != phaseUp {
		d.lock.unlock()
		return hostapi.InterfaceState{}, hostapi.ErrClosed
	}
	name, pub, addrs, peers := d.cfg.Name, d.pub, d.cfg.Addresses, d.set.Len()
	d.lock.unlock()

	read := func(int) (hostapi.InterfaceState, error) { return d.ipcState(peers) }
	if livePeers != nil {
		read = d.liveState
	}
	st, err := d.reads.DoShared(read)
	if err != nil {
		return hostapi.InterfaceState{}, err
	}
	st.Name = name
	if n, err := d.tun.Name(); err == nil {
		st.Name = n
	}
	st.PublicKey = pub
	st.Addresses = slices.Clone(addrs)
	return st, nil
}

// liveState reads the peers of the device in place (livePeers must be
// non-nil): the configured peer set, copied under the lock into the
// result (sorted by key), then each peer's live figures from wireguard-go.
// A peer wireguard-go does not hold (removed meanwhile) is left out. Its
// fields beyond ListenPort and Peers are State's to fill in.
//
// The result is its only allocation (a read of 10,000 peers leaves it as
// garbage), unless a result every caller handed back (RecycleState) is
// there to reuse: the peers are sorted where they lie. callers is how
// many State calls the result goes to.
func (d *Device) liveState(callers int) (hostapi.InterfaceState, error) {
	d.lock.lock(false)
	if d.phase != phaseUp {
		d.lock.unlock()
		return hostapi.InterfaceState{}, hostapi.ErrClosed
	}
	peers := d.spare.take(d.set.Len())
	for p := range d.set.All() {
		peers = append(peers, hostapi.PeerState{PublicKey: p.PublicKey, AllowedIPs: p.AllowedIPs})
	}
	port, set, gen, changes := d.port, d.set, d.set.Generation(), d.changes
	d.lock.unlock()

	wg := d.order.sort(peers, set, gen, changes, d.lookup)
	kept := peers[:0]
	for i, ps := range peers {
		wp := wg[i]
		if wp == nil {
			continue
		}
		f := livePeers.read(wp)
		ps.Endpoint, ps.LastHandshake, ps.RxBytes, ps.TxBytes, ps.PersistentKeepalive = f.endpoint, f.handshake, f.rx, f.tx, f.keepalive
		if len(ps.AllowedIPs) == 0 {
			ps.AllowedIPs = nil
		} else if !slices.IsSortedFunc(ps.AllowedIPs, comparePrefix) {
			ps.AllowedIPs = slices.SortedFunc(slices.Values(ps.AllowedIPs), comparePrefix)
		}
		kept = append(kept, ps)
	}
	clear(peers[len(kept):]) // no key or allowed IPs of a peer left out stays reachable
	d.spare.lend(kept, callers)
	return hostapi.InterfaceState{ListenPort: port, Peers: kept}, nil
}

// lookup returns the device's peer of key k; nil if it has none.
func (d *Device) lookup(k hostapi.Key) *device.Peer {
	return d.dev.LookupPeer(device.NoisePublicKey(k))
}

// RecycleState hands back the Peers of a State result its caller has done
// with — nothing may read or keep them after — so that a later State can
// reuse their memory instead of leaving ~140 bytes per peer of garbage per
// read. Every caller a read's result went to must hand it back before it
// is reused; results of earlier reads, and anything else, are ignored.
func (d *Device) RecycleState(peers []hostapi.PeerState) { d.spare.giveBack(peers) }

// spareState is the memory of State results for reuse: the peers of the
// last read while its callers hold them, and once they have all handed
// them back, as the spare the next read fills.
type spareState struct {
	mu    sync.Mutex
	spare []hostapi.PeerState // handed back by every holder; length 0
	lent  *hostapi.PeerState  // the first element of the last read's peers; nil: none tracked
	refs  int                 // the holders of lent that have not handed it back
}

// take returns an empty slice of capacity at least n: the spare if it is
// large enough, else a new one.
func (s *spareState) take(n int) []hostapi.PeerState {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cap(s.spare) >= n {
		p := s.spare
		s.spare = nil
		return p
	}
	s.spare = nil
	return make([]hostapi.PeerState, 0, n)
}

// lend records that peers go to holders callers; the previous read's
// peers, if some holder never handed them back, are forgotten (the
// garbage collector has them once their holders let go).
func (s *spareState) lend(peers []hostapi.PeerState, holders int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lent, s.refs = nil, 0
	if cap(peers) > 0 && holders > 0 {
		s.lent, s.refs = &peers[:1][0], holders
	}
}

// giveBack counts off one holder of peers; the last one makes them the
// spare, cleared (they hold no key or allowed IPs of a peer since gone).
func (s *spareState) giveBack(peers []hostapi.PeerState) {
	if cap(peers) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lent == nil || &peers[:1][0] != s.lent {
		return
	}
	if s.refs--; s.refs > 0 {
		return
	}
	peers = peers[:cap(peers)]
	clear(peers)
	s.spare, s.lent = peers[:0], nil
}

// orderByKey returns, in order's memory, the order that sorts peers by
// public key: its i-th element is the index of the peer that belongs at i.
// It sorts indexes (4 bytes each, not a PeerState's 136); permute then
// moves each peer once into place.
func orderByKey(peers []hostapi.PeerState, order []int32) []int32 {
	order = slices.Grow(order[:0], len(peers))[:len(peers)]
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return bytes.Compare(peers[a].PublicKey[:], peers[b].PublicKey[:]) })
	return order
}

// permute puts peers in order (orderByKey's), moving each peer once along
// the permutation's cycles, and returns the memory it worked in (work's,
// if large enough) for the next call; order is not modified.
func permute(peers []hostapi.PeerState, order, work []int32) []int32 {
	work = append(work[:0], order...)
	for i := range work {
		if work[i] < 0 || int(work[i]) == i {
			continue
		}
		held := peers[i] // the cycle through i: fill each hole from its source
		j := i
		for {
			src := int(work[j])
			work[j] = -1
			if src == i {
				peers[j] = held
				break
			}
			peers[j] = peers[src]
			j = src
		}
	}
	return work
}

// keyOrder is the order State last sorted its peers in, kept while the
// peer set it read them from stays the same set at the same generation
// (hostapi.PeerSet.Generation): its peers then come in the same order, and
// the next State puts them in order without sorting 10,000 keys again. It
// keeps, in that order, the wireguard-go peer of each key too: looking
// 10,000 keys up in the device's map took a fifth of a State.
type keyOrder struct {
	mu    sync.Mutex
	set   *hostapi.PeerSet
	gen   uint64
	order []int32 // orderByKey's
	work  []int32 // permute's
	// wg are the device's peers of the sorted keys (nil where the device
	// has none), looked up once per set, generation and count of device
	// changes (Device.changes); a new slice each time, as the last one's
	// readers may still hold it.
	wg      []*device.Peer
	changes uint64
}

// sort sorts peers, read in All's order from set at generation gen after
// changes device changes, by public key, and returns the device's peer of
// each (lookup's; nil where it has none), which the caller must not
// modify.
func (k *keyOrder) sort(peers []hostapi.PeerState, set *hostapi.PeerSet, gen, changes uint64, lookup func(hostapi.Key) *device.Peer) []*device.Peer {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.set != set || k.gen != gen || len(k.order) != len(peers) {
		k.order = orderByKey(peers, k.order)
		k.set, k.gen, k.wg = set, gen, nil
	}
	k.work = permute(peers, k.order, k.work)
	if k.wg == nil || k.changes != changes {
		k.wg, k.changes = make([]*device.Peer, len(peers)), changes
		for i, p := range peers {
			k.wg[i] = lookup(p.PublicKey)
		}
	}
	return k.wg
}

// ipcState reads the device through wireguard-go's UAPI get operation
// and parses its text; peers sizes the result. The text is copied out
// first and parsed after: wireguard-go writes it while it holds the lock
// every peer change (IpcSet) takes, and parsing as it is written held
// that lock twice as long (at 10,000 peers, ~10 ms more that an add
// waited for).
func (d *Device) ipcState(peers int) (hostapi.InterfaceState, error) {
	buf := ipcBuffers.Get().(*bytes.Buffer)
	defer ipcBuffers.Put(buf)
	buf.Reset()
	if err := d.dev.IpcGetOperation(buf); err != nil {
		return hostapi.InterfaceState{}, hostapi.Errorf(hostapi.CodeInternal, "read device: %v", err)
	}
	p := newStateParser(peers)
	p.Write(buf.Bytes())
	st, err := p.finish()
	if err != nil {
		return hostapi.InterfaceState{}, hostapi.Errorf(hostapi.CodeInternal, "read device: %v", err)
	}
	return st, nil
}

// ipcBuffers hold the text of ipcState's reads (megabytes at 10,000
// peers) from one read to the next.
var ipcBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Close closes the device, its tun device and its bind, and waits for
// wireguard-go's goroutines to end. It is idempotent.
func (d *Device) Close() error {
	d.lock.lock(true)
	defer d.lock.unlock()
	d.changes++
	if d.phase == phaseClosed {
		return nil
	}
	d.phase = phaseClosed
	d.dev.Close()
	d.set = hostapi.NewPeerSet()
	return nil
}

// publicKey derives the Curve25519 public key of k.
func publicKey(k hostapi.PrivateKey) hostapi.Key {
	pub, err := curve25519.X25519(k[:], curve25519.Basepoint)
	if err != nil {
		// X25519 fails only for a low-order point, which the base point is not.
		panic("wgdev: curve25519 base point multiplication failed: " + err.Error())
	}
	return hostapi.Key(pub)
}

// BulkChange is the size of a change (peers upserted plus removed, or
// routes added plus removed) from which ApplyPeers, and a backend's
// ApplyRoutes, hand the memory the change used while it was made back to
// the operating system (debug.FreeOSMemory, once the change is made and
// the device unlocked): the whole peer set pushed at start or after a
// relaunch decodes and encodes every peer several times over, and
// without it the process would keep that garbage's pages resident.
const BulkChange = 1024
