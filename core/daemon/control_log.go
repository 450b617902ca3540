package daemon

import (
	"context"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
)

// Log serves the trusted log to the control API (GET /v1/log): the
// entries of epochs from, from+1, …, at most max of them, and the head.
// In restricted-safe mode it serves the longest verified prefix and says
// why. The entries are read before the head, so the head is never behind
// the last entry served. It only reads.
func (d *Daemon) Log(ctx context.Context, from uint64, max int) (controlapi.LogHead, []*membership.SignedUpdate, error) {
	entries := d.ledger.Entries(from, max)
	ls := d.ledger.Status()
	h := controlapi.LogHead{NetworkID: ls.NetworkID, Head: ls.Head, Restricted: ls.Reason}
	if d.opts.GenesisRoot != (membership.Hash{}) {
		h.GenesisRoot = d.opts.GenesisRoot.String()
	}
	return h, entries, ctx.Err()
}
