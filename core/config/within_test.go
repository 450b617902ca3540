package config

import "testing"

func TestWithin(t *testing.T) {
	tests := []struct {
		path, dir string
		want      bool
	}{
		{"/var/lib/rn/c.sock", "/var/lib/rn", true},
		{"/var/lib/rn/a/b/c.sock", "/var/lib/rn", true},
		{"/var/lib/rn", "/var/lib/rn", true},
		{"/var/lib/rn.sock", "/var/lib/rn", false},
		{"/var/lib/rnx/c.sock", "/var/lib/rn", false},
		{"/var/lib/c.sock", "/var/lib/rn", false},
		{"/var/lib/..sock", "/var/lib/rn", false},
		{"", "/var/lib/rn", false},
		{"/var/lib/rn/c.sock", "", false},
	}
	for _, tt := range tests {
		if got := within(tt.path, tt.dir); got != tt.want {
			t.Errorf("within(%q, %q) = %v, want %v", tt.path, tt.dir, got, tt.want)
		}
	}
}
