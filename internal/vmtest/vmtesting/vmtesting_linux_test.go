package vmtesting

import "testing"

func TestGuestRunPattern(t *testing.T) {
	tests := []struct {
		name, host, want string
	}{
		{"TestKernel", "", "^TestKernel$"},
		{"TestKernel", "Kernel", "^TestKernel$"},
		{"TestKernel", "TestKernel/traffic", "^TestKernel$/traffic"},
		{"TestKernel", "Test.*/peers/invalid", "^TestKernel$/peers/invalid"},
	}
	for _, tt := range tests {
		if got := guestRunPattern(tt.name, tt.host); got != tt.want {
			t.Errorf("guestRunPattern(%q, %q): got %q, want %q", tt.name, tt.host, got, tt.want)
		}
	}
}

func TestSkipped(t *testing.T) {
	out := []byte("=== RUN   TestKernel\n    x_test.go:10: no veth here\n--- SKIP: TestKernel (0.00s)\n    x_test.go:10: no veth here\nPASS\n")
	if _, ok := skipped(out, "TestOther"); ok {
		t.Error("skipped(TestOther): got true")
	}
	reason, ok := skipped(out, "TestKernel")
	if !ok || reason == "" {
		t.Errorf("skipped(TestKernel): got %q, %v; want the reason and true", reason, ok)
	}
}
