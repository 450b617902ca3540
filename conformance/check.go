package conformance

import (
	"context"
	"fmt"
	"time"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/poll"
)

// pollInterval is how often waitFor checks its condition.
const pollInterval = 10 * time.Millisecond

// wantCode returns an error unless err carries code want.
func wantCode(what string, err error, want hostapi.Code) error {
	if got := hostapi.CodeOf(err); got != want {
		return fmt.Errorf("%s: got %v (error %v), want %v", what, got, err, want)
	}
	return nil
}

// waitFor polls cond every pollInterval until it holds, failing with what
// once d has passed or ctx is done.
func waitFor(ctx context.Context, d time.Duration, what string, cond func() bool) error {
	if err := poll.UntilContext(ctx, d, pollInterval, cond); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// waitExit waits until pid and every process it had started have exited.
func waitExit(ctx context.Context, d time.Duration, pid int, children []int) error {
	return waitFor(ctx, d, fmt.Sprintf("plugin process %d (and its children %v) exits", pid, children), func() bool {
		if processAlive(pid) {
			return false
		}
		for _, c := range children {
			if processAlive(c) {
				return false
			}
		}
		return true
	})
}
