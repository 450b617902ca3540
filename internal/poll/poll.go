// Package poll waits for a condition by checking it repeatedly with a
// deadline: how tests (and the conformance suite, which cannot import
// testing) synchronise with processes and backends, never with a fixed
// sleep. Package polltest wraps it for tests.
package poll

import (
	"context"
	"fmt"
	"time"
)

// Until calls ok at once and then every interval until it reports true,
// and returns an error once within has passed since the first call with ok
// still false. ok is always called at least once, and once more at the
// deadline.
func Until(within, interval time.Duration, ok func() bool) error {
	return UntilContext(context.Background(), within, interval, ok)
}

// UntilContext is Until that also gives up, with ctx's error, once ctx is
// done.
func UntilContext(ctx context.Context, within, interval time.Duration, ok func() bool) error {
	deadline := time.Now().Add(within)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if ok() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", within)
		}
		t.Reset(min(interval, max(time.Until(deadline), 0)+time.Millisecond))
	}
}
