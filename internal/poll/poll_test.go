package poll

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestUntil(t *testing.T) {
	tests := []struct {
		name      string
		trueAfter int // calls; -1 never
		wantErr   bool
	}{
		{"true at once", 0, false},
		{"true on the third call", 2, false},
		{"never true", -1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			err := Until(50*time.Millisecond, time.Millisecond, func() bool {
				calls++
				return tt.trueAfter >= 0 && calls > tt.trueAfter
			})
			if (err != nil) != tt.wantErr {
				t.Fatalf("Until = %v after %d calls, want error %v", err, calls, tt.wantErr)
			}
			if tt.wantErr && calls < 2 {
				t.Errorf("a failing condition was checked %d times; want it checked again at the deadline", calls)
			}
		})
	}
}

func TestUntilContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	calls := 0
	err := UntilContext(ctx, time.Hour, time.Millisecond, func() bool {
		calls++
		if calls == 3 {
			cancel()
		}
		return false
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("UntilContext with ctx canceled after the third call: got %v, want %v", err, context.Canceled)
	}
	if calls != 3 {
		t.Errorf("calls: got %d, want 3", calls)
	}
}
