package hostapi

import (
	"context"
	"errors"
	"fmt"
)

// Change is one change of a backend's data plane made of several Backend
// calls, in the order that never widens it before it narrows it:
//
//  1. RemovePeers(Peers.Remove): a revoked peer goes before anything else;
//  2. ApplyRoutes{Remove: Routes.Remove};
//  3. SetFilter(*Filter), if Filter is not nil: a peer added next meets
//     the filter it must pass;
//  4. ApplyPeers{Upsert: Peers.Upsert}: a route added next never leads
//     into the interface before its peer has the prefix;
//  5. ApplyRoutes{Add: Routes.Add}.
//
// An empty part makes no call.
type Change struct {
	Peers  PeerChanges
	Routes RouteChanges
	Filter *Filter // nil: the filter is kept
}

// ChangeApplier is a Backend that makes a whole Change at once: over a
// plugin connection (BackendClient) in one round trip. ApplyChange uses
// it when a Backend has it.
type ChangeApplier interface {
	ApplyChange(ctx context.Context, c Change) error
}

// ApplyChange makes c on b: by b's own ApplyChange if it is a
// ChangeApplier, else by the calls Change lists, in its order. It stops at
// the first call that fails and returns its error, which says which step
// failed and keeps the backend's code; the steps before it stay made.
func ApplyChange(ctx context.Context, b Backend, c Change) error {
	if a, ok := b.(ChangeApplier); ok {
		return a.ApplyChange(ctx, c)
	}
	return applyChangeByCalls(ctx, b, c)
}

// applyChangeByCalls makes c by single calls on b, as ApplyChange states.
func applyChangeByCalls(ctx context.Context, b Backend, c Change) error {
	if len(c.Peers.Remove) > 0 {
		if err := b.RemovePeers(ctx, c.Peers.Remove); err != nil {
			return stepError("removing peers", err)
		}
	}
	if len(c.Routes.Remove) > 0 {
		if err := b.ApplyRoutes(ctx, RouteChanges{Remove: c.Routes.Remove}); err != nil {
			return stepError("removing routes", err)
		}
	}
	if c.Filter != nil {
		if err := b.SetFilter(ctx, *c.Filter); err != nil {
			return stepError("setting the packet filter", err)
		}
	}
	if len(c.Peers.Upsert) > 0 {
		if err := b.ApplyPeers(ctx, PeerChanges{Upsert: c.Peers.Upsert}); err != nil {
			return stepError("applying peers", err)
		}
	}
	if len(c.Routes.Add) > 0 {
		if err := b.ApplyRoutes(ctx, RouteChanges{Add: c.Routes.Add}); err != nil {
			return stepError("adding routes", err)
		}
	}
	return nil
}

// stepError is err of the step of a Change that failed: an *Error keeps
// its code, its message says the step first (as it reads after crossing a
// plugin connection).
func stepError(step string, err error) error {
	var e *Error
	if errors.As(err, &e) && e.Code != CodeOK {
		return &Error{Code: e.Code, Msg: step + ": " + messageOf(err, e)}
	}
	return fmt.Errorf("%s: %w", step, err)
}

// empty reports whether c makes no call at all.
func (c Change) empty() bool {
	return len(c.Peers.Remove) == 0 && len(c.Routes.Remove) == 0 && c.Filter == nil &&
		len(c.Peers.Upsert) == 0 && len(c.Routes.Add) == 0
}
