package hostapi

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rustynet/rustynet/hostapi/internal/pb"
)

// stateBackend is a Backend whose State is st.
type stateBackend struct {
	countingBackend
	st InterfaceState
}

func (b *stateBackend) State(context.Context) (InterfaceState, error) { return b.st, b.hit() }

// withoutStateSummary serves a Backend as a plugin built before the
// StateSummary method did.
type withoutStateSummary struct{ *backendServer }

func (withoutStateSummary) StateSummary(context.Context, *pb.BackendStateSummaryRequest) (*pb.BackendStateSummaryResponse, error) {
	return pb.UnimplementedBackendServer{}.StateSummary(context.Background(), nil)
}

func summaryState() (InterfaceState, InterfaceSummary) {
	key := func(b byte) Key { var k Key; k[0] = b; return k }
	p := netip.MustParsePrefix
	at := time.Unix(1_700_000_000, 0)
	st := InterfaceState{
		Name: "rn0", PublicKey: key(9), ListenPort: 51820, Addresses: []netip.Prefix{p("100.64.0.1/32")},
		Routes: []netip.Prefix{p("0.0.0.0/0"), p("10.20.0.0/24"), p("100.64.0.2/32"), p("100.64.0.3/32"), p("192.168.9.0/24"), p("fd00::3/128")},
		Peers: []PeerState{
			{PublicKey: key(2), AllowedIPs: []netip.Prefix{p("100.64.0.2/32"), p("10.20.0.0/24")}, LastHandshake: at, RxBytes: 5, TxBytes: 7},
			{PublicKey: key(3), AllowedIPs: []netip.Prefix{p("100.64.0.3/32"), p("fd00::3/128"), p("0.0.0.0/0")}, LastHandshake: at.Add(time.Minute), RxBytes: 1, TxBytes: 2},
			{PublicKey: key(4), AllowedIPs: []netip.Prefix{p("100.64.0.4/32")}},
		},
	}
	want := InterfaceSummary{
		Name: "rn0", PublicKey: key(9), ListenPort: 51820, Addresses: st.Addresses,
		Routes:     []RouteVia{{p("0.0.0.0/0"), key(3)}, {p("10.20.0.0/24"), key(2)}, {p("192.168.9.0/24"), Key{}}},
		HostRoutes: 3,
		Peers:      PeerTotals{Count: 3, Handshaken: 2, LatestHandshake: at.Add(time.Minute), RxBytes: 6, TxBytes: 9},
	}
	return st, want
}

// TestStateSummary sums a state up in process, through a plugin
// connection to a plugin that sums it up itself (one StateSummary call,
// no State crossing), and to one built before StateSummary (which gets
// State calls, the method tried once): the same summary each way.
func TestStateSummary(t *testing.T) {
	st, want := summaryState()
	opts := cmp.Options{cmpopts.EquateComparable(netip.Prefix{}), cmpopts.EquateEmpty()}
	if diff := cmp.Diff(want, SummarizeState(st), opts); diff != "" {
		t.Errorf("SummarizeState (-want +got):\n%s", diff)
	}
	for _, plugin := range []string{"current", "older"} {
		t.Run(plugin, func(t *testing.T) {
			impl := &stateBackend{st: st}
			var wrap func(*backendServer) pb.BackendServer
			if plugin == "older" {
				wrap = func(s *backendServer) pb.BackendServer { return withoutStateSummary{s} }
			}
			client, rpcs := dialBackend(t, impl, wrap)
			for range 2 {
				got, err := StateSummary(t.Context(), client)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got, opts); diff != "" {
					t.Errorf("summary (-want +got):\n%s", diff)
				}
			}
			wantRPCs := map[string]int{"StateSummary": 2}
			if plugin == "older" {
				wantRPCs = map[string]int{"StateSummary": 1, "State": 2}
			}
			if diff := cmp.Diff(wantRPCs, rpcs.counts()); diff != "" {
				t.Errorf("RPCs (-want +got):\n%s", diff)
			}
		})
	}
}

// TestStateSummaryRejectsBadReplies: a summary no Go plugin sends (more
// peers with a handshake than peers, a short key) fails to decode with
// CodeInvalidArgument.
func TestStateSummaryRejectsBadReplies(t *testing.T) {
	key := make([]byte, KeyLen)
	for name, m := range map[string]*pb.InterfaceSummary{
		"handshaken beyond count": {PublicKey: key, Peers: &pb.PeerTotals{Count: 1, Handshaken: 2}},
		"short route peer":        {PublicKey: key, Routes: []*pb.RouteVia{{Prefix: "10.0.0.0/8", Peer: key[:5]}}},
		"route text":              {PublicKey: key, Routes: []*pb.RouteVia{{Prefix: "10.0.0.0"}}},
		"short key":               {PublicKey: key[:3]},
	} {
		if _, err := interfaceSummaryFromPB(m); CodeOf(err) != CodeInvalidArgument {
			t.Errorf("%s: %v, want CodeInvalidArgument", name, err)
		}
	}
}
