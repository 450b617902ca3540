package netlinkdump

import (
	"errors"
	"testing"

	"github.com/vishvananda/netlink"
)

func TestRetry(t *testing.T) {
	other := errors.New("permission denied")
	tests := []struct {
		name      string
		results   []error // one per call, the last repeated
		wantCalls int
		wantErr   error
	}{
		{"succeeds at once", []error{nil}, 1, nil},
		{"interrupted twice", []error{netlink.ErrDumpInterrupted, netlink.ErrDumpInterrupted, nil}, 3, nil},
		{"other error at once", []error{other}, 1, other},
		{"other error after an interruption", []error{netlink.ErrDumpInterrupted, other}, 2, other},
		{"always interrupted", []error{netlink.ErrDumpInterrupted}, Attempts, netlink.ErrDumpInterrupted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			v, err := Retry(func() (int, error) {
				err := tt.results[min(calls, len(tt.results)-1)]
				calls++
				return calls, err
			})
			if calls != tt.wantCalls || !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Errorf("got %d calls, error %v; want %d calls, error %v", calls, err, tt.wantCalls, tt.wantErr)
			}
			if v != calls {
				t.Errorf("got value %d, want the last call's %d", v, calls)
			}
		})
	}
}
