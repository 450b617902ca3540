package daemon

import (
	"context"
	"testing"

	"github.com/rustynet/rustynet/core/membership"
)

func TestLogServesTheTrustedLog(t *testing.T) {
	h := newHarness(t)
	d := h.start()
	h.applyOK(membership.Operation{Type: membership.OpRevokeNode, NodeID: "d"}, "alice", "bob")
	h.applyOK(membership.Operation{Type: membership.OpRevokeNode, NodeID: "c"}, "alice", "bob")
	want := string(membership.EncodeLog(h.net.Log))
	tests := []struct {
		name      string
		from      uint64
		max       int
		wantFirst int // index into the log
		wantN     int
	}{
		{"everything", 1, 100, 0, 3},
		{"at most max", 1, 2, 0, 2},
		{"from the middle", 2, 100, 1, 2},
		{"the head", 3, 1, 2, 1},
		{"past the head", 4, 100, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			head, entries, err := d.Log(context.Background(), tt.from, tt.max)
			if err != nil {
				t.Fatal(err)
			}
			if head.Head != 3 || head.NetworkID != "test" || head.GenesisRoot != h.opts.GenesisRoot.String() || head.Restricted != "" {
				t.Errorf("got head %+v, want epoch 3 of network test, its pinned genesis root, not restricted", head)
			}
			got := string(membership.EncodeLog(entries))
			if wantPart := string(membership.EncodeLog(h.net.Log[tt.wantFirst : tt.wantFirst+tt.wantN])); got != wantPart || (tt.wantN == 3 && got != want) {
				t.Errorf("got %d entries from epoch %d, want %d from the log's index %d", len(entries), tt.from, tt.wantN, tt.wantFirst)
			}
		})
	}
}
