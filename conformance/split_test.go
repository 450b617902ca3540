package conformance

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"plugin store-file", []string{"plugin", "store-file"}},
		{"  a\tb\n c  ", []string{"a", "b", "c"}},
		{`--dir "/tmp/with space" x`, []string{"--dir", "/tmp/with space", "x"}},
		{`'single $quoted' "it's"`, []string{"single $quoted", "it's"}},
		{`a\ b c\\d`, []string{"a b", `c\d`}},
		{`empty "" end`, []string{"empty", "", "end"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, splitArgs(tt.in)); diff != "" {
			t.Errorf("splitArgs(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}
