// Package vmtesting runs Go tests inside a vmtest guest, so that a plain
// `go test` on a host without some kernel feature still exercises it.
//
// A test that needs the guest starts with RunTest:
//
//	func TestKernelThing(t *testing.T) {
//		if !vmtesting.RunTest(t, vmtesting.Options{}) {
//			return // ran in the VM; the host's part is done
//		}
//		// Here the test runs inside the guest, as root, with WireGuard.
//	}
//
// On the host, RunTest compiles the package's tests into a static binary,
// boots a VM that runs just this test (and its selected subtests) with
// -test.v, relays the guest's output to t.Log, and fails t if the guest's
// run failed. Inside the guest it returns true and the test body runs.
package vmtesting
