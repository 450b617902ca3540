package gossip

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/rustynet/rustynet/core/membership"
)

// Protocol bounds (see the package doc).
const (
	// MaxBatch is the most log entries one /v1/log answer holds.
	MaxBatch = 256
	// MaxHeadBytes bounds a /v1/head answer.
	MaxHeadBytes = 4 << 10
	// MaxLogBytes bounds a /v1/log answer.
	MaxLogBytes = 32 << 20
	// MaxEvidenceBytes bounds a /v1/evidence answer (it carries the log up
	// to the fork).
	MaxEvidenceBytes = 64 << 20
	// MaxConcurrent is how many requests a server serves at once.
	MaxConcurrent = 8
	// RequestsPerSecond and Burst bound the requests a server serves.
	RequestsPerSecond = 50
	Burst             = 100
	// headerTimeout bounds reading a request's headers; requestTimeout a
	// whole exchange, on both sides.
	headerTimeout = 5 * time.Second
	// headTimeout bounds asking a peer for its head, dial included: a
	// member that is offline must not hold a round up.
	headTimeout    = 3 * time.Second
	requestTimeout = 30 * time.Second
	maxHeaderBytes = 4 << 10
)

// Head is what a node tells its peers about its trusted membership.
type Head struct {
	NetworkID string `json:"network_id"`
	Epoch     uint64 `json:"epoch"`
	// StateRoot and LastUpdate are hex digests: the trusted state's root
	// and the digest of the update that produced it.
	StateRoot  string `json:"state_root"`
	LastUpdate string `json:"last_update"`
	// Evidence names the evidence of forks the node holds (file names,
	// membership.EvidenceReport.Name), at most MaxEvidence.
	Evidence []string `json:"evidence,omitempty"`
}

// MaxEvidence bounds the evidence names a head carries.
const MaxEvidence = 16

var (
	hexDigest    = regexp.MustCompile(`^[0-9a-f]{64}$`)
	evidenceName = regexp.MustCompile(`^fork-[0-9]{1,20}-[0-9a-f]{8}-[0-9a-f]{8}\.json$`)
)

// ParseHead decodes and checks a head: strict JSON of at most
// MaxHeadBytes, digests in lower-case hex, an evidence name of the form
// the ledger gives.
func ParseHead(data []byte) (Head, error) {
	if len(data) > MaxHeadBytes {
		return Head{}, fmt.Errorf("head: %d bytes, more than %d", len(data), MaxHeadBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var h Head
	if err := dec.Decode(&h); err != nil {
		return Head{}, fmt.Errorf("head: %w", err)
	}
	if dec.More() {
		return Head{}, errors.New("head: trailing data")
	}
	switch {
	case h.NetworkID == "" || len(h.NetworkID) > 128:
		return Head{}, errors.New("head: bad network id")
	case h.Epoch == 0:
		return Head{}, errors.New("head: epoch 0")
	case !hexDigest.MatchString(h.StateRoot) || !hexDigest.MatchString(h.LastUpdate):
		return Head{}, errors.New("head: digests must be 64 lower-case hex digits")
	case len(h.Evidence) > MaxEvidence:
		return Head{}, errors.New("head: too many evidence names")
	}
	for _, n := range h.Evidence {
		if !evidenceName.MatchString(n) {
			return Head{}, errors.New("head: bad evidence name")
		}
	}
	return h, nil
}

// HeadOf returns the head of a trusted state.
func HeadOf(s *membership.State, evidence []string) Head {
	return Head{NetworkID: s.NetworkID(), Epoch: s.Epoch(), StateRoot: s.Root().String(),
		LastUpdate: s.LastUpdateDigest().String(), Evidence: evidence}
}
