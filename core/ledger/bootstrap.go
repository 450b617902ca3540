package ledger

import (
	"context"

	"github.com/rustynet/rustynet/core/membership"
)

// Bootstrap applies the network's genesis to an empty ledger. The genesis
// must produce exactly the pinned Config.GenesisRoot, and because the root
// is pinned by the operator, the genesis is verified as history: its
// signatures and rules in full, but not its expiry — a node may join long
// after its network's genesis expired. On a non-empty ledger Bootstrap
// checks that its first entry is this genesis and changes nothing.
func (l *Ledger) Bootstrap(ctx context.Context, genesis *membership.SignedUpdate) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.restricted != nil {
		return restrictedf("the ledger is in restricted-safe mode: %v", l.restricted)
	}
	if l.cfg.GenesisRoot == (membership.Hash{}) {
		return &membership.Error{Code: membership.IllegalOperation, Msg: "bootstrap needs a pinned genesis root"}
	}
	if err := l.checkGenesis(genesis); err != nil {
		return err
	}
	if l.head() > 0 {
		first, err := l.updateAt(1)
		if err != nil {
			return err
		}
		if first.Body.NewStateRoot != genesis.Body.NewStateRoot {
			return integrityf("the ledger starts with another genesis")
		}
		return nil
	}
	chain := membership.NewChain(genesis.Body.NetworkID)
	res, err := chain.Evaluate(genesis, membership.Options{History: true, Limits: l.cfg.Limits})
	if err != nil {
		return err
	}
	return l.commit(ctx, chain, res)
}
