package gossip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/rustynet/rustynet/core/membership"
)

// Peer is a member a node may ask.
type Peer struct {
	ID   string
	Addr netip.Addr
}

// Local is the node's side of a sync: what it serves, whom it may ask,
// and the ledger operations that verify what it hears. Every method is
// safe for concurrent use.
type Local interface {
	Source
	// Peers are the active members to ask (not the node itself).
	Peers() []Peer
	// RootAt is the trusted root after epoch e, false past the head.
	RootAt(e uint64) (membership.Hash, bool)
	// Extend verifies entries, which continue the trusted log right after
	// its head, and applies those that verify (ledger.Ledger.Extend);
	// from names the peer for logs and the audit trail.
	Extend(ctx context.Context, entries []*membership.SignedUpdate, from string) (int, error)
	// BeginCatchUp begins a catch-up from a peer that verifies its entries
	// as they arrive (ledger.Extension), so a peer serving junk costs one
	// batch, not the whole claimed log.
	BeginCatchUp() (CatchUp, error)
	// Conflict checks u, a peer's entry for an epoch the node has a
	// different entry for, for a fork (ledger.Ledger.CheckFork).
	Conflict(ctx context.Context, u *membership.SignedUpdate, from string) error
	// AddEvidence verifies evidence a peer holds and, if it proves a fork
	// in the node's own history, keeps it (the node is forked).
	AddEvidence(ctx context.Context, data []byte, from string) error
}

// CatchUp is an extension of the trusted log received in batches.
type CatchUp interface {
	// Add verifies the entries of epochs from, from+1, … (from is right
	// after the last added, or after the head for the first batch).
	Add(from uint64, entries []*membership.SignedUpdate) error
	// Commit applies what Add verified, if its newest entry passes the
	// acceptance rules now; from names the peer. It returns how many
	// entries were applied.
	Commit(ctx context.Context, from string) (int, error)
}

// Heard is a head heard from a peer.
type Heard struct {
	Peer string
	Head Head
	At   time.Time
}

// Status is what a Syncer reports.
type Status struct {
	Rounds    uint64
	LastRound time.Time
	// Newest is the newest head (highest epoch) heard in the last round
	// that heard any, nil if none yet.
	Newest *Heard
	// Behind is true when the last round heard a head ahead of the node's
	// and could not catch up to it.
	Behind bool
	// Applied counts the entries applied from peers; Failures the peers
	// that could not be asked or whose answers were refused.
	Applied, Failures uint64
	LastError         string
}

// Syncer asks Fanout random peers per round for their heads and catches
// up from them (see the package doc).
type Syncer struct {
	local  Local
	client *Client
	log    *slog.Logger
	// Fanout is how many peers a round asks; 0 means 3.
	Fanout int
	// Now is the clock for status; nil means time.Now.
	Now func() time.Time

	mu     sync.Mutex
	status Status
	round  *Heard // the newest head heard in the round under way
}

// NewSyncer returns a syncer of local over client; log may be nil.
func NewSyncer(local Local, client *Client, log *slog.Logger) *Syncer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Syncer{local: local, client: client, log: log}
}

// Status returns the syncer's status.
func (s *Syncer) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	if st.Newest != nil {
		n := *st.Newest
		st.Newest = &n
	}
	return st
}

func (s *Syncer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Run runs a round every interval (with up to 20 % jitter) until ctx ends.
func (s *Syncer) Run(ctx context.Context, interval time.Duration) {
	for {
		s.Round(ctx)
		d := interval + time.Duration(rand.Int64N(int64(interval)/5+1))
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Round asks up to Fanout random peers, at once, and acts on what each
// says. The node's side (Local) is safe for concurrent use; what changes
// state is serialised there, by the ledger.
func (s *Syncer) Round(ctx context.Context) {
	s.mu.Lock()
	s.round = nil
	s.mu.Unlock()
	peers := s.local.Peers()
	rand.Shuffle(len(peers), func(i, j int) { peers[i], peers[j] = peers[j], peers[i] })
	fanout := s.Fanout
	if fanout <= 0 {
		fanout = 3
	}
	peers = peers[:min(fanout, len(peers))]
	// Peers are asked at once: one that does not answer (a member that is
	// offline) costs its head timeout, not the round.
	results := make([]error, len(peers))
	var wg sync.WaitGroup
	for i, p := range peers {
		wg.Go(func() { results[i] = s.syncWith(ctx, p) })
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}
	var errs []error
	for i, err := range results {
		if err != nil {
			s.log.Debug("gossip: sync with a peer failed", "peer", peers[i].ID, "err", err)
			errs = append(errs, fmt.Errorf("%s: %w", peers[i].ID, err))
		}
	}
	mine, _ := s.local.Head()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status.Rounds++
	s.status.LastRound = s.now()
	s.status.Failures += uint64(len(errs))
	s.status.LastError = ""
	if len(errs) > 0 {
		s.status.LastError = errors.Join(errs...).Error()
	}
	// What this round heard: a peer that once claimed a head it could not
	// serve makes the node "behind" only while it keeps claiming it.
	if s.round != nil {
		s.status.Newest = s.round
	}
	s.status.Behind = s.round != nil && s.round.Head.NetworkID == mine.NetworkID && s.round.Head.Epoch > mine.Epoch
}

// heard records h as heard from peer.
func (s *Syncer) heard(peer string, h Head) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.round == nil || h.Epoch >= s.round.Head.Epoch {
		s.round = &Heard{Peer: peer, Head: h, At: s.now()}
	}
}

// syncWith asks one peer for its head and acts on it.
func (s *Syncer) syncWith(ctx context.Context, p Peer) error {
	hctx, hcancel := context.WithTimeout(ctx, headTimeout)
	h, err := s.client.Head(hctx, p.Addr)
	hcancel()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	mine, ok := s.local.Head()
	if !ok {
		return nil // nothing trustworthy to compare with
	}
	if h.NetworkID != mine.NetworkID {
		return fmt.Errorf("its head is of network %q, not %q", h.NetworkID, mine.NetworkID)
	}
	s.heard(p.ID, h)
	// Evidence it holds and this node does not: fetched and verified. A
	// failure does not stop the catch-up below (a node behind the fork
	// may need the entries first).
	var evErr error
	for _, name := range h.Evidence {
		if slices.Contains(mine.Evidence, name) {
			continue
		}
		data, err := s.client.Evidence(ctx, p.Addr, name)
		if err == nil && data != nil {
			err = s.local.AddEvidence(ctx, data, p.ID)
		}
		if err != nil {
			evErr = fmt.Errorf("its evidence %s: %w", name, err)
		}
	}
	mine, _ = s.local.Head()
	var syncErr error
	switch {
	case h.Epoch <= mine.Epoch:
		// Same history up to its head? If not, the entry where the two
		// histories part is a candidate fork.
		if root, ok := s.local.RootAt(h.Epoch); ok && root.String() != h.StateRoot {
			syncErr = s.offerDivergence(ctx, p, h.Epoch)
		}
	default:
		syncErr = s.catchUp(ctx, p, mine, h)
	}
	return errors.Join(evErr, syncErr)
}

// offerDivergence finds where the peer's history parts from the node's,
// at or below epoch e (where the two differ), and offers the peer's entry
// there to the ledger as a possible fork. It walks down from e, one entry
// per request, comparing each entry's previous root with the node's root
// at the epoch before: at most maxDivergenceWalk entries, so a peer cannot
// keep it busy.
func (s *Syncer) offerDivergence(ctx context.Context, p Peer, e uint64) error {
	for range maxDivergenceWalk {
		log, err := s.client.Log(ctx, p.Addr, e)
		if err != nil {
			return err
		}
		if len(log) == 0 {
			return fmt.Errorf("it has no entry of epoch %d, which its head claims", e)
		}
		u := log[0]
		prev, ok := s.local.RootAt(e - 1)
		if e == 1 || !ok || u.Body.PrevStateRoot == prev {
			return s.local.Conflict(ctx, u, p.ID) // the two part here
		}
		e--
	}
	return fmt.Errorf("its history parts from this node's more than %d entries below its head", maxDivergenceWalk)
}

// maxDivergenceWalk bounds how far below a peer's head offerDivergence
// looks for where two histories part.
const maxDivergenceWalk = 64

// maxCatchUp bounds the entries one catch-up gathers (each verified as it
// arrives) before the ledger commits them: a portable log's own bound.
var maxCatchUp = membership.DefaultLimits().MaxLogEntries

// catchUp fetches the peer's entries after the node's head, from the
// node's head on (to check that the two agree there), has the ledger
// verify each batch as it arrives, and commits them in one piece: the
// newest must pass acceptance now, and it vouches for the others
// (ledger.Extension).
func (s *Syncer) catchUp(ctx context.Context, p Peer, mine, h Head) error {
	ours := s.local.Entries(mine.Epoch, 1)
	if len(ours) != 1 {
		return fmt.Errorf("the node has no entry of its own head %d", mine.Epoch)
	}
	x, err := s.local.BeginCatchUp()
	if err != nil {
		return err
	}
	added := 0
	for from := mine.Epoch; from <= h.Epoch; {
		batch, err := s.client.Log(ctx, p.Addr, from)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			break
		}
		if from == mine.Epoch {
			if !bytes.Equal(batch[0].BodyBytes(), ours[0].BodyBytes()) {
				return s.offerDivergence(ctx, p, mine.Epoch)
			}
			batch = batch[1:]
			from++
			if len(batch) == 0 {
				continue
			}
		}
		if err := x.Add(from, batch); err != nil {
			return err
		}
		added += len(batch)
		if added > maxCatchUp {
			return fmt.Errorf("it offers more than %d entries at once", maxCatchUp)
		}
		from += uint64(len(batch))
	}
	if added == 0 {
		return nil
	}
	n, err := x.Commit(ctx, p.ID)
	s.mu.Lock()
	s.status.Applied += uint64(n)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	s.log.Info("gossip: caught up from a peer", "peer", p.ID, "applied", n, "epoch", mine.Epoch+uint64(n))
	return nil
}
