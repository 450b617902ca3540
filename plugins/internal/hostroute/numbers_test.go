package hostroute

import (
	"testing"

	"github.com/rustynet/rustynet/hostapi"
)

func TestMarkOf(t *testing.T) {
	tests := []struct {
		name    string
		ifindex int
		want    uint32
		code    hostapi.Code
	}{
		{"first interface", 1, 0x52000001, hostapi.CodeOK},
		{"typical", 37, 0x52000025, hostapi.CodeOK},
		{"largest", 1<<24 - 1, 0x52ffffff, hostapi.CodeOK},
		{"zero", 0, 0, hostapi.CodeUnsupported},
		{"negative", -3, 0, hostapi.CodeUnsupported},
		{"too large", 1 << 24, 0, hostapi.CodeUnsupported},
	}
	seen := map[uint32]int{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MarkOf(tt.ifindex)
			if code := hostapi.CodeOf(err); code != tt.code || got != tt.want {
				t.Fatalf("MarkOf(%d): got %#x, %v; want %#x, code %v", tt.ifindex, got, err, tt.want, tt.code)
			}
			if err != nil {
				return
			}
			if other, ok := seen[got]; ok {
				t.Errorf("MarkOf(%d) = MarkOf(%d) = %#x", tt.ifindex, other, got)
			}
			seen[got] = tt.ifindex
			// Never one of the kernel's reserved tables (253-255) or 0.
			if got <= 255 {
				t.Errorf("MarkOf(%d) = %d, a reserved table number", tt.ifindex, got)
			}
		})
	}
}

func TestTableName(t *testing.T) {
	if got, want := TableName("wg0"), "rustynet-wg0"; got != want {
		t.Errorf("TableName: got %q, want %q", got, want)
	}
}
