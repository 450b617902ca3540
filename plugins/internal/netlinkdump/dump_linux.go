// Package netlinkdump retries netlink dumps that the kernel interrupted.
//
// A dump (listing addresses, routes, links) that runs while the same table
// changes comes back flagged NLM_F_DUMP_INTR; vishvananda/netlink then
// returns the partial result with netlink.ErrDumpInterrupted. The listing
// is only a snapshot, so the remedy is to take it again.
package netlinkdump

import (
	"errors"

	"github.com/vishvananda/netlink"
)

// Attempts is how many times Retry runs a dump before giving up.
const Attempts = 10

// Retry runs dump until it is not interrupted, at most Attempts times, and
// returns its last result. An error other than an interruption is returned
// at once; after Attempts interruptions the interruption is returned.
func Retry[T any](dump func() (T, error)) (T, error) {
	var (
		v   T
		err error
	)
	for range Attempts {
		v, err = dump()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return v, err
		}
	}
	return v, err
}
