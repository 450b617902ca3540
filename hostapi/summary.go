package hostapi

import (
	"context"
	"net/netip"
	"time"
)

// InterfaceSummary is an InterfaceState summed up, for meshes too large to
// list: the interface as State reports it, the peers' totals instead of
// each peer, and only the routes that are not host routes (a /32 or
// /128: most often a peer's mesh address, one per peer), which it counts.
type InterfaceSummary struct {
	Name       string
	PublicKey  Key
	ListenPort uint16
	Addresses  []netip.Prefix
	// Routes are State's routes that are not host routes, in State's
	// order, each with the peer whose allowed IPs hold it.
	Routes []RouteVia
	// HostRoutes counts State's host routes.
	HostRoutes int
	Peers      PeerTotals
}

// RouteVia is a route and the peer it leads to: the peer one of whose
// allowed IPs is the prefix (zero Key: none).
type RouteVia struct {
	Prefix netip.Prefix
	Peer   Key
}

// PeerTotals sums up the peers of an InterfaceState.
type PeerTotals struct {
	Count int
	// Handshaken counts the peers with a handshake, ever.
	Handshaken int
	// LatestHandshake is the most recent handshake of any peer; zero if
	// none.
	LatestHandshake time.Time
	RxBytes         uint64
	TxBytes         uint64
}

// SummarizeState sums s up (see InterfaceSummary). It does not modify s.
func SummarizeState(s InterfaceState) InterfaceSummary {
	sum := InterfaceSummary{Name: s.Name, PublicKey: s.PublicKey, ListenPort: s.ListenPort, Addresses: s.Addresses}
	for _, p := range s.Peers {
		sum.Peers.Count++
		if !p.LastHandshake.IsZero() {
			sum.Peers.Handshaken++
			if p.LastHandshake.After(sum.Peers.LatestHandshake) {
				sum.Peers.LatestHandshake = p.LastHandshake
			}
		}
		sum.Peers.RxBytes += p.RxBytes
		sum.Peers.TxBytes += p.TxBytes
	}
	for _, r := range s.Routes {
		if r.IsSingleIP() {
			sum.HostRoutes++
			continue
		}
		via := RouteVia{Prefix: r}
	peers:
		for _, p := range s.Peers { // few routes are not host routes
			for _, a := range p.AllowedIPs {
				if a == r {
					via.Peer = p.PublicKey
					break peers
				}
			}
		}
		sum.Routes = append(sum.Routes, via)
	}
	return sum
}

// StateSummarizer is a Backend that sums up its own state: over a plugin
// connection (BackendClient), without sending every peer across it.
// StateSummary uses it when a Backend has it.
type StateSummarizer interface {
	StateSummary(ctx context.Context) (InterfaceSummary, error)
}

// StateRecycler is a Backend that can reuse the memory of its State
// results: a caller done with a result hands it back through RecycleState
// and may not read or keep any of it afterwards. The plugin side of a
// backend connection hands back every result it has encoded, so that a
// backend serving status reads of a large mesh need not leave each one's
// peers as garbage.
type StateRecycler interface {
	RecycleState(InterfaceState)
}

// StateSummary returns b's state summed up: b's own StateSummary if it is
// a StateSummarizer, else SummarizeState of its State. Its errors are
// State's.
func StateSummary(ctx context.Context, b Backend) (InterfaceSummary, error) {
	if s, ok := b.(StateSummarizer); ok {
		return s.StateSummary(ctx)
	}
	st, err := b.State(ctx)
	if err != nil {
		return InterfaceSummary{}, err
	}
	sum := SummarizeState(st)
	if r, ok := b.(StateRecycler); ok {
		r.RecycleState(st)
	}
	return sum, nil
}
