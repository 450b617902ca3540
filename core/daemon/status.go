package daemon

import (
	"context"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/pluginhost"
	"github.com/rustynet/rustynet/hostapi"
)

// Status gathers what `rustynet status` shows. Peers come from the
// backend's read-back; if it cannot be read, Peers is empty and the
// backend plugin's status says why.
func (d *Daemon) Status(ctx context.Context) (controlapi.Status, error) {
	ls := d.ledger.Status()
	s := controlapi.Status{
		Node: controlapi.NodeStatus{ID: d.opts.NodeID, NetworkID: ls.NetworkID, PublicKey: d.selfKey.String()},
		Trust: controlapi.TrustStatus{Epoch: ls.Epoch, StateRoot: ls.Root.String(), GenesisRoot: d.opts.GenesisRoot.String(),
			Restricted: ls.Restricted, Reason: ls.Reason},
		Backend: controlapi.BackendStatus{Name: d.chosen, Plugin: pluginStatus(d.backSup.Status()),
			Skipped: append([]controlapi.SkippedBackend(nil), d.skipped...)},
		Store: pluginStatus(d.store.Status()),
		Peers: []controlapi.PeerStatus{},
	}
	d.mu.Lock()
	s.Backend.Isolated = d.isolated
	if d.rejected != nil {
		r := *d.rejected
		s.Trust.LastRejected = &r
	}
	d.mu.Unlock()
	if d.opts.Feed != nil {
		d.feedMu.Lock()
		f := d.feed
		d.feedMu.Unlock()
		s.Feed = &f
	}
	ids := map[hostapi.Key]string{}
	if st := d.ledger.State(); st != nil {
		for n := range st.Nodes() {
			ids[hostapi.Key(n.PublicKey)] = n.ID
		}
	}
	cur, err := d.backend.State(ctx)
	if err != nil {
		return s, nil // the plugin status explains; the rest of the status stands
	}
	for _, p := range cur.Peers {
		ps := controlapi.PeerStatus{NodeID: ids[p.PublicKey], PublicKey: p.PublicKey.String(), AllowedIPs: []string{},
			LastHandshake: p.LastHandshake, RxBytes: p.RxBytes, TxBytes: p.TxBytes}
		if p.Endpoint.IsValid() {
			ps.Endpoint = p.Endpoint.String()
		}
		for _, a := range p.AllowedIPs {
			ps.AllowedIPs = append(ps.AllowedIPs, a.String())
		}
		s.Peers = append(s.Peers, ps)
	}
	return s, nil
}

func pluginStatus(s pluginhost.Status) controlapi.PluginStatus {
	return controlapi.PluginStatus{Name: s.Name, State: string(s.State), Restarts: s.Restarts, LastError: s.LastError}
}
