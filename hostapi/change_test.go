package hostapi

import (
	"context"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"

	"github.com/rustynet/rustynet/hostapi/internal/pb"
)

// callLog is a Backend that records the data-plane calls reaching it, and
// fails the call named failAt (if any) with failCode.
type callLog struct {
	countingBackend
	failAt   string
	failCode Code

	mu    sync.Mutex
	calls []string
}

func (b *callLog) record(call string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, call)
	if strings.HasPrefix(call, b.failAt+" ") || call == b.failAt {
		return Errorf(b.failCode, "%s refused", b.failAt)
	}
	return nil
}

func (b *callLog) log() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.calls...)
}

func (b *callLog) RemovePeers(_ context.Context, keys []Key) error {
	return b.record(fmt.Sprintf("RemovePeers %d", len(keys)))
}
func (b *callLog) ApplyRoutes(_ context.Context, c RouteChanges) error {
	return b.record(fmt.Sprintf("ApplyRoutes -%v +%v", c.Remove, c.Add))
}
func (b *callLog) SetFilter(_ context.Context, f Filter) error {
	return b.record(fmt.Sprintf("SetFilter %d", len(f.Rules)))
}
func (b *callLog) ApplyPeers(_ context.Context, c PeerChanges) error {
	return b.record(fmt.Sprintf("ApplyPeers -%d +%d", len(c.Remove), len(c.Upsert)))
}

// withoutApplyChange serves a Backend as a plugin built before the
// ApplyChange method did: that method is UNIMPLEMENTED.
type withoutApplyChange struct{ *backendServer }

func (withoutApplyChange) ApplyChange(context.Context, *pb.BackendApplyChangeRequest) (*pb.BackendApplyChangeResponse, error) {
	return pb.UnimplementedBackendServer{}.ApplyChange(context.Background(), nil)
}

// TestApplyChange makes Changes through a plugin connection, to a plugin
// that has ApplyChange (one round trip) and to one that predates it
// (single calls, the method tried once): the same calls reach the
// backend in Change's order, empty parts make none, and the first failing
// call ends the change with its code and the step that failed.
func TestApplyChange(t *testing.T) {
	key := func(b byte) Key { var k Key; k[0] = b; return k }
	f := &Filter{Rules: []FilterRule{{Src: []netip.Prefix{netip.MustParsePrefix("100.64.0.0/10")}, Dst: []netip.Prefix{netip.MustParsePrefix("100.64.0.1/32")}}}}
	r1, r2 := netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("10.2.0.0/16")
	whole := Change{
		Peers:  PeerChanges{Remove: []Key{key(1), key(2)}, Upsert: []PeerConfig{{PublicKey: key(3)}}},
		Routes: RouteChanges{Remove: []netip.Prefix{r1}, Add: []netip.Prefix{r2}},
		Filter: f,
	}
	wholeCalls := []string{"RemovePeers 2", "ApplyRoutes -[10.1.0.0/16] +[]", "SetFilter 1", "ApplyPeers -0 +1", "ApplyRoutes -[] +[10.2.0.0/16]"}
	tests := []struct {
		name     string
		change   Change
		failAt   string
		want     []string
		wantErr  string // a part of the error; "" for none
		wantCode Code
	}{
		{name: "whole", change: whole, want: wholeCalls},
		{name: "an added peer alone", change: Change{Peers: PeerChanges{Upsert: []PeerConfig{{PublicKey: key(3)}}}}, want: []string{"ApplyPeers -0 +1"}},
		{name: "an empty filter is a filter", change: Change{Filter: &Filter{}}, want: []string{"SetFilter 0"}},
		{name: "nothing", change: Change{}, want: nil},
		{name: "the filter refused", change: whole, failAt: "SetFilter", want: wholeCalls[:3], wantErr: "setting the packet filter: SetFilter refused", wantCode: CodeInvalidArgument},
		{name: "the removal refused", change: whole, failAt: "RemovePeers", want: wholeCalls[:1], wantErr: "removing peers: RemovePeers refused", wantCode: CodeUnavailable},
	}
	for _, plugin := range []string{"current", "older"} {
		for _, tt := range tests {
			t.Run(plugin+"/"+tt.name, func(t *testing.T) {
				impl := &callLog{failAt: tt.failAt, failCode: tt.wantCode}
				var wrap func(*backendServer) pb.BackendServer
				if plugin == "older" {
					wrap = func(s *backendServer) pb.BackendServer { return withoutApplyChange{s} }
				}
				client, rpcs := dialBackend(t, impl, wrap)
				for round := range 2 { // the second time, an older plugin is not asked for the method again
					impl.mu.Lock()
					impl.calls = nil
					impl.mu.Unlock()
					err := ApplyChange(t.Context(), client, tt.change)
					if got := impl.log(); !reflect.DeepEqual(got, tt.want) {
						t.Errorf("round %d: calls %q, want %q", round, got, tt.want)
					}
					switch {
					case tt.wantErr == "" && err != nil:
						t.Fatalf("round %d: %v", round, err)
					case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || CodeOf(err) != tt.wantCode):
						t.Fatalf("round %d: error %v (code %v), want one with %q and code %v", round, err, CodeOf(err), tt.wantErr, tt.wantCode)
					}
				}
				got := rpcs.counts()
				calls := 0 // an empty change sends nothing
				if tt.change.empty() {
				} else if plugin == "current" {
					calls = 2 // one round trip per change
				} else {
					calls = 1 // tried once, then never again
				}
				if got["ApplyChange"] != calls {
					t.Errorf("ApplyChange RPCs %d, want %d (all: %v)", got["ApplyChange"], calls, got)
				}
				if plugin == "current" && len(got) > 1 {
					t.Errorf("RPCs beside ApplyChange: %v", got)
				}
			})
		}
	}
}

// TestApplyChangeRejectsMalformedRequests: a request no Go host sends
// fails with CodeInvalidArgument and reaches nothing.
func TestApplyChangeRejectsMalformedRequests(t *testing.T) {
	impl := &callLog{}
	cc := dialWire(t, func(s *grpc.Server) { pb.RegisterBackendServer(s, &backendServer{impl: impl}) })
	raw := pb.NewBackendClient(cc)
	for name, req := range map[string]*pb.BackendApplyChangeRequest{
		"short key":   {Peers: &pb.PeerChanges{Remove: [][]byte{make([]byte, 31)}}},
		"route text":  {Routes: &pb.RouteChanges{Add: []string{"1.2.3.4"}}},
		"filter port": {Filter: &pb.Filter{Rules: []*pb.FilterRule{{Ports: []*pb.PortRange{{First: 1, Last: 70000}}}}}},
	} {
		_, err := raw.ApplyChange(t.Context(), req)
		if err := fromStatus(t.Context(), BackendPluginName, err); CodeOf(err) != CodeInvalidArgument {
			t.Errorf("%s: %v, want CodeInvalidArgument", name, err)
		}
	}
	if got := impl.log(); len(got) != 0 {
		t.Errorf("calls reached the backend: %q", got)
	}
}
