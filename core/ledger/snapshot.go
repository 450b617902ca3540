package ledger

import (
	"encoding/json"

	"github.com/rustynet/rustynet/core/membership"
)

// snapshot is the full state at a log index, as stored. It is deterministic
// (encoding/json over fixed structs), so the ledger checks a stored snapshot
// by re-encoding the replayed state and comparing bytes.
type snapshot struct {
	Index            uint64             `json:"index"`
	EntryHash        string             `json:"entry_hash"`
	NetworkID        string             `json:"network_id"`
	Epoch            uint64             `json:"epoch"`
	StateRoot        string             `json:"state_root"`
	LastUpdateDigest string             `json:"last_update_digest"`
	Threshold        uint64             `json:"threshold"`
	Approvers        []snapshotApprover `json:"approvers"`
	Nodes            []snapshotNode     `json:"nodes"`
}

type snapshotApprover struct {
	ID        string `json:"approver_id"`
	PublicKey string `json:"public_key"`
	Role      string `json:"role"`
}

type snapshotNode struct {
	ID        string   `json:"node_id"`
	PublicKey string   `json:"public_key"`
	Addresses []string `json:"addresses"`
	Endpoints []string `json:"endpoints"`
	Tags      []string `json:"tags"`
	Routes    []string `json:"routes"`
	Owner     string   `json:"owner"`
	Status    string   `json:"status"`
}

// encodeSnapshot returns the snapshot bytes of s at log index index.
func encodeSnapshot(s *membership.State, index uint64, entryHash membership.Hash) []byte {
	snap := snapshot{
		Index:            index,
		EntryHash:        entryHash.String(),
		NetworkID:        s.NetworkID(),
		Epoch:            s.Epoch(),
		StateRoot:        s.Root().String(),
		LastUpdateDigest: s.LastUpdateDigest().String(),
		Threshold:        s.Threshold(),
		Approvers:        []snapshotApprover{},
		Nodes:            make([]snapshotNode, 0, s.NodeCount()),
	}
	for _, a := range s.Approvers() {
		snap.Approvers = append(snap.Approvers, snapshotApprover{ID: a.ID, PublicKey: a.PublicKey.String(), Role: string(a.Role)})
	}
	for n := range s.Nodes() {
		sn := snapshotNode{ID: n.ID, PublicKey: n.PublicKey.String(), Owner: n.Owner, Status: string(n.Status), Tags: append([]string{}, n.Tags...)}
		sn.Addresses = make([]string, len(n.Addresses))
		for i, p := range n.Addresses {
			sn.Addresses[i] = p.String()
		}
		sn.Routes = make([]string, len(n.Routes))
		for i, p := range n.Routes {
			sn.Routes[i] = p.String()
		}
		sn.Endpoints = make([]string, len(n.Endpoints))
		for i, e := range n.Endpoints {
			sn.Endpoints[i] = e.String()
		}
		snap.Nodes = append(snap.Nodes, sn)
	}
	data, err := json.Marshal(&snap)
	if err != nil {
		// Marshal of these plain structs cannot fail.
		panic(err)
	}
	return data
}

// snapshotIndex reads the index a stored snapshot claims, to know where in
// the replay to compare it.
func snapshotIndex(data []byte) (uint64, error) {
	var head struct {
		Index uint64 `json:"index"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return 0, integrityf("snapshot is unreadable: %v", err)
	}
	return head.Index, nil
}
