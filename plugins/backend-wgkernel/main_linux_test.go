package wgkernel

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: on the host
// (the VM launcher, the builds) and in the guest (backends, echo servers,
// the wireguard-go process's waiters).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
