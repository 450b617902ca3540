// Package crashtest holds what the tests that SIGKILL a writer at random
// moments share: how many times each of them kills it. The stores' own
// conformance runs (store.durable.kill-during-appends,
// store.snapshot.atomic-kill, store.truncate.kill) and core/ledger's crash
// test read it here.
package crashtest

import (
	"os"
	"strconv"
	"testing"
)

// IterationsEnv sets how many times each crash test kills its writer;
// scripts/test.sh sets it to 200.
const IterationsEnv = "RUSTYNET_CRASH_ITERATIONS"

// Iterations returns how many times a crash test kills its writer:
// IterationsEnv if it is set, else 3 with -short, else 20. It fails tb
// when IterationsEnv is not a positive integer.
func Iterations(tb testing.TB) int {
	tb.Helper()
	v := os.Getenv(IterationsEnv)
	switch {
	case v == "" && testing.Short():
		return 3
	case v == "":
		return 20
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("%s=%q: want a positive integer", IterationsEnv, v)
	}
	return n
}
