package hostroute

import (
	"errors"
	"log/slog"
	"net/netip"
	"slices"

	"github.com/rustynet/rustynet/hostapi"
)

// Plan returns the changes that turn the installed routes into want less
// the prefixes addrs imply (hostapi.ImpliedRoutes): the prefixes to remove
// and the prefixes to add, each sorted. The inputs are not modified and may
// hold repeats.
func Plan(installed, want, addrs []netip.Prefix) (remove, add []netip.Prefix) {
	implied := hostapi.ImpliedRoutes(addrs)
	next := make(map[netip.Prefix]bool, len(want))
	for _, p := range want {
		if !slices.Contains(implied, p) {
			next[p] = true
		}
	}
	have := make(map[netip.Prefix]bool, len(installed))
	for _, p := range installed {
		if !next[p] && !have[p] {
			remove = append(remove, p)
		}
		have[p] = true
	}
	for p := range next {
		if !have[p] {
			add = append(add, p)
		}
	}
	slices.SortFunc(remove, netip.Prefix.Compare)
	slices.SortFunc(add, netip.Prefix.Compare)
	return remove, add
}

// Changer installs and removes single routes into one interface.
type Changer interface {
	AddRoute(p netip.Prefix) error
	RemoveRoute(p netip.Prefix) error
}

// Apply removes every prefix of remove, then adds every prefix of add,
// through c. If a step fails, the steps made before it are undone, newest
// first, and the step's error is returned: the routes are as before. A step
// that cannot be undone is logged to log (the routes then differ from what
// the caller believes) and its error is joined to the one returned.
func Apply(c Changer, remove, add []netip.Prefix, log *slog.Logger) error {
	var done []func() error
	fail := func(err error) error {
		var undoErrs []error
		for i := len(done) - 1; i >= 0; i-- {
			if uerr := done[i](); uerr != nil {
				undoErrs = append(undoErrs, uerr)
			}
		}
		if len(undoErrs) > 0 {
			uerr := errors.Join(undoErrs...)
			log.Error("hostroute: undoing a failed route change failed", "err", uerr)
			return errors.Join(err, uerr)
		}
		return err
	}
	for _, p := range remove {
		if err := c.RemoveRoute(p); err != nil {
			return fail(err)
		}
		done = append(done, func() error { return c.AddRoute(p) })
	}
	for _, p := range add {
		if err := c.AddRoute(p); err != nil {
			return fail(err)
		}
		done = append(done, func() error { return c.RemoveRoute(p) })
	}
	return nil
}
