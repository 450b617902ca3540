package storerules

import (
	"errors"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
)

func TestReadRange(t *testing.T) {
	tests := []struct {
		name        string
		from        uint64
		limit       int
		head        uint64
		want        uint64
		wantErrCode hostapi.Code
	}{
		{"whole log", 1, 10, 3, 3, hostapi.CodeOK},
		{"limited", 2, 1, 3, 1, hostapi.CodeOK},
		{"just past the head", 4, 10, 3, 0, hostapi.CodeOK},
		{"empty log", 1, 10, 0, 0, hostapi.CodeOK},
		{"beyond head+1", 5, 10, 3, 0, hostapi.CodeNotFound},
		{"from zero", 0, 10, 3, 0, hostapi.CodeInvalidArgument},
		{"zero limit", 1, 0, 3, 0, hostapi.CodeInvalidArgument},
		{"negative limit", 1, -1, 3, 0, hostapi.CodeInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadRange(tt.from, tt.limit, tt.head)
			if hostapi.CodeOf(err) != tt.wantErrCode || got != tt.want {
				t.Errorf("ReadRange(%d, %d, %d) = %d, %v; want %d, code %v", tt.from, tt.limit, tt.head, got, err, tt.want, tt.wantErrCode)
			}
		})
	}
}

func TestCheckData(t *testing.T) {
	if err := CheckData("entry", nil, 10); !errors.Is(err, hostapi.ErrInvalidArgument) {
		t.Errorf("empty: %v", err)
	}
	if err := CheckData("entry", make([]byte, 11), 10); !errors.Is(err, hostapi.ErrInvalidArgument) {
		t.Errorf("oversize: %v", err)
	}
	if err := CheckData("entry", make([]byte, 10), 10); err != nil {
		t.Errorf("at the limit: %v", err)
	}
}

func TestTruncateAfter(t *testing.T) {
	tests := []struct {
		name       string
		after      uint64
		head       uint64
		wantRemove bool
		want       hostapi.Code
	}{
		{"to the middle", 2, 5, true, hostapi.CodeOK},
		{"to empty", 0, 5, true, hostapi.CodeOK},
		{"at the head", 5, 5, false, hostapi.CodeOK},
		{"an empty log at 0", 0, 0, false, hostapi.CodeOK},
		{"beyond the head", 6, 5, false, hostapi.CodeConflict},
		{"on an empty log", 1, 0, false, hostapi.CodeConflict},
		{"far beyond", 1 << 63, 5, false, hostapi.CodeConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			remove, err := TruncateAfter(tt.after, tt.head)
			if got := hostapi.CodeOf(err); got != tt.want || remove != tt.wantRemove {
				t.Errorf("TruncateAfter(%d, %d) = %v, %v; want %v, code %v", tt.after, tt.head, remove, err, tt.wantRemove, tt.want)
			}
		})
	}
}

func TestNextIndex(t *testing.T) {
	tests := []struct {
		name        string
		index, head uint64
		want        hostapi.Code
	}{
		{"first on an empty log", 1, 0, hostapi.CodeOK},
		{"zero on an empty log", 0, 0, hostapi.CodeConflict},
		{"next", 4, 3, hostapi.CodeOK},
		{"the head again", 3, 3, hostapi.CodeConflict},
		{"skipping one", 5, 3, hostapi.CodeConflict},
		{"far ahead", 1 << 63, 3, hostapi.CodeConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hostapi.CodeOf(NextIndex(tt.index, tt.head)); got != tt.want {
				t.Errorf("NextIndex(%d, %d): got %v, want %v", tt.index, tt.head, got, tt.want)
			}
		})
	}
}
