// Package polltest is package poll for tests: a wait that fails the test,
// saying what it waited for, instead of returning an error.
package polltest

import (
	"testing"
	"time"

	"github.com/rustynet/rustynet/internal/poll"
)

// Until calls ok every interval, as poll.Until does, and fails tb, naming
// what it waited for, unless ok reports true within.
func Until(tb testing.TB, what string, within, interval time.Duration, ok func() bool) {
	tb.Helper()
	if err := poll.Until(within, interval, ok); err != nil {
		tb.Fatalf("waiting for %s: %v", what, err)
	}
}
