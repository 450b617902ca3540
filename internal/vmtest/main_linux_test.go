package vmtest

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind (console
// readers, QEMU waiters).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
