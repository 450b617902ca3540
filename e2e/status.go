package e2e

import (
	"slices"

	"github.com/rustynet/rustynet/core/controlapi"
)

// PeerIDs returns the node ids of the peers in a status, as the backend
// read them back, sorted. A peer whose key no member holds appears as
// "key:" and its public key.
func PeerIDs(st controlapi.Status) []string {
	ids := make([]string, 0, len(st.Peers))
	for _, p := range st.Peers {
		id := p.NodeID
		if id == "" {
			id = "key:" + p.PublicKey
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// HasPeer reports whether the status lists a peer with the public key of
// node n (whatever id it is reported under).
func HasPeer(st controlapi.Status, n *Node) bool {
	return slices.ContainsFunc(st.Peers, func(p controlapi.PeerStatus) bool { return p.PublicKey == n.Public.String() })
}
