package wgkernel

import (
	"context"
	"errors"
	"net"

	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"

	"github.com/rustynet/rustynet/hostapi"
)

// peersPerMessage is how many peers go into one netlink message. It is
// wgctrl's own batch size, so that each of our calls is one message (a peer
// with very many allowed IPs still spans several): a failure then leaves
// whole messages applied or not, and the rollback covers both.
const peersPerMessage = 32

// ApplyPeers removes c.Remove, then adds or updates c.Upsert in place
// (updated peers keep their sessions). The resulting peer set is validated
// by hostapi.PeerSet's rules before anything changes (ErrInvalidArgument):
// allowed IPs of different peers may overlap, the same prefix on two peers
// may not. If the kernel refuses a message part-way, the peers touched are
// restored to their state before the call and the error is returned.
func (b *Backend) ApplyPeers(ctx context.Context, c hostapi.PeerChanges) error {
	dev, err := b.lock(ctx, false)
	if err != nil {
		return err
	}
	defer b.serial.release()
	plan, ops, err := planPeers(dev.peers, dev.self, c)
	if err != nil {
		return err
	}
	if err := dev.applyOps(ops); err != nil {
		return dev.rollback(ops, err, b)
	}
	dev.peers.Commit(plan)
	return nil
}

// RemovePeers removes the peers keys at once, ahead of queued work: when
// it returns, their sessions are gone and the kernel drops their packets.
// Zero and absent keys are ignored. If the kernel fails part-way, the
// peers already removed stay removed (a removal only ever shrinks what is
// reachable) and the error is returned.
func (b *Backend) RemovePeers(ctx context.Context, keys []hostapi.Key) error {
	dev, err := b.lock(ctx, true)
	if err != nil {
		return err
	}
	defer b.serial.release()
	ops := make([]peerOp, 0, len(keys))
	for _, k := range keys {
		if !k.IsZero() {
			// Sent for every key, known or not: the kernel ignores
			// absent ones, and a peer set behind our back goes too.
			ops = append(ops, peerOp{key: k, remove: true})
		}
	}
	if err := dev.applyOps(ops); err != nil {
		b.resync(dev)
		return err
	}
	dev.peers.Commit(hostapi.PeerPlan{Remove: keys})
	return nil
}

// applyOps sends ops to the kernel, in order, peersPerMessage at a time.
func (d *device) applyOps(ops []peerOp) error {
	for len(ops) > 0 {
		n := min(len(ops), peersPerMessage)
		cfg := wgtypes.Config{Peers: make([]wgtypes.PeerConfig, n)}
		for i, op := range ops[:n] {
			cfg.Peers[i] = wgPeer(op)
		}
		if err := d.wg.ConfigureDevice(d.iface.name, cfg); err != nil {
			return sysErr("configuring peers of "+d.iface.name, err)
		}
		ops = ops[n:]
	}
	return nil
}

// rollback restores the peers that ops touched to their configuration
// before the change that failed with cause, and returns the error to
// report. If the restore fails too, it removes every peer the change
// added, so that the device holds no peer the core did not ask for.
func (d *device) rollback(ops []peerOp, cause error, b *Backend) error {
	keys := touchedKeys(ops)
	restore := restoreOps(d.peers, keys)
	err := d.applyOps(restore)
	if err == nil {
		b.logger.Warn("wgkernel: peer change failed and was rolled back", "name", d.iface.name, "peers", len(keys), "err", cause)
		return cause
	}
	var added []peerOp
	for _, op := range restore {
		if op.remove {
			added = append(added, op)
		}
	}
	removeErr := d.applyOps(added)
	b.logger.Error("wgkernel: peer change failed and could not be rolled back", "name", d.iface.name,
		"err", cause, "rollback_err", err, "remove_added_err", removeErr)
	b.resync(d)
	return hostapi.Errorf(hostapi.CodeInternal, "wgkernel: %v; rolling back failed: %v",
		cause, errors.Join(err, removeErr))
}

// resync reloads the device's peer view from the kernel after a failure
// left it uncertain; if even that fails, the next change is validated
// against the old view and the kernel's state shows in State.
func (b *Backend) resync(d *device) {
	cur, err := d.read()
	if err != nil {
		b.logger.Error("wgkernel: re-reading peers after a failure", "name", d.iface.name, "err", err)
		return
	}
	d.peers = hostapi.NewPeerSet(cur.peers...)
}

// wgPeer is the wgctrl form of op.
func wgPeer(op peerOp) wgtypes.PeerConfig {
	pc := wgtypes.PeerConfig{PublicKey: wgtypes.Key(op.key)}
	if op.remove {
		pc.Remove = true
		return pc
	}
	pc.UpdateOnly = op.update
	if op.setEndpoint {
		pc.Endpoint = net.UDPAddrFromAddrPort(unmapped(op.peer.Endpoint))
	}
	keepalive := op.peer.PersistentKeepalive
	pc.PersistentKeepaliveInterval = &keepalive
	pc.ReplaceAllowedIPs = true
	pc.AllowedIPs = ipNets(op.peer.AllowedIPs)
	return pc
}
