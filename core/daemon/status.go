package daemon

import (
	"context"
	"time"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/pluginhost"
	"github.com/rustynet/rustynet/hostapi"
)

// Status is everything `rustynet status` shows.
type Status struct {
	NodeID      string
	PublicKey   membership.NodeKey
	NetworkID   string
	Epoch       uint64
	StateRoot   membership.Hash
	GenesisRoot membership.Hash
	Restricted  bool
	Reason      string
	Isolated    string // why the node has no peers, if it has none by design
	Rejected    *Rejection
	Backend     string
	Skipped     []Skipped
	BackendPlug pluginhost.Status
	StorePlug   pluginhost.Status
	Feed        *FeedStatus
	Peers       []PeerStatus
}

// PeerStatus is one peer as the backend reports it, with its node id.
type PeerStatus struct {
	NodeID        string
	PublicKey     hostapi.Key
	Endpoint      string
	AllowedIPs    []string
	LastHandshake time.Time
	RxBytes       uint64
	TxBytes       uint64
}

// Status gathers the node's status. Peers come from the backend's
// read-back; if it cannot be read, Peers is empty and the backend plugin's
// status says why.
func (d *Daemon) Status(ctx context.Context) Status {
	ls := d.ledger.Status()
	s := Status{
		NodeID: d.opts.NodeID, PublicKey: d.selfKey, NetworkID: ls.NetworkID,
		Epoch: ls.Epoch, StateRoot: ls.Root, GenesisRoot: d.opts.GenesisRoot,
		Restricted: ls.Restricted, Reason: ls.Reason,
		Backend: d.chosen, Skipped: append([]Skipped(nil), d.skipped...),
		BackendPlug: d.backSup.Status(), StorePlug: d.store.Status(),
	}
	d.mu.Lock()
	s.Isolated = d.isolated
	if d.rejected != nil {
		r := *d.rejected
		s.Rejected = &r
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
	if cur, err := d.backend.State(ctx); err == nil {
		for _, p := range cur.Peers {
			ps := PeerStatus{NodeID: ids[p.PublicKey], PublicKey: p.PublicKey, LastHandshake: p.LastHandshake, RxBytes: p.RxBytes, TxBytes: p.TxBytes}
			if p.Endpoint.IsValid() {
				ps.Endpoint = p.Endpoint.String()
			}
			for _, a := range p.AllowedIPs {
				ps.AllowedIPs = append(ps.AllowedIPs, a.String())
			}
			s.Peers = append(s.Peers, ps)
		}
	}
	return s
}
