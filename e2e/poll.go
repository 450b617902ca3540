package e2e

import (
	"fmt"
	"time"
)

// poll calls ok every interval until it reports true, and fails once
// within has passed since the first call. It is how every wait in this
// package synchronises: on a condition, never on a fixed delay.
func poll(within, interval time.Duration, ok func() bool) error {
	deadline := time.Now().Add(within)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		<-t.C
		if ok() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", within)
		}
		t.Reset(interval)
	}
}
