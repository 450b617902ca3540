package controlapi

import (
	"bytes"
	"testing"
	"time"

	jsonv1 "github.com/go-json-experiment/json/v1"
	"github.com/google/go-cmp/cmp"
)

// TestStatusEncoderAsEncoder: the status document the server writes is
// json.NewEncoder(w).Encode(st), byte for byte, whether its lists are put
// in by hand or it falls back to the library; the hand-written way is
// taken whenever every list can be; DecodeStatus reads it back as
// json.Unmarshal does.
func TestStatusEncoderAsEncoder(t *testing.T) {
	e := newStatusEncoder()
	at := time.Date(2026, 12, 3, 17, 4, 5, 6, time.UTC)
	peers := PeerList{
		{NodeID: "n2", PublicKey: "k2", AllowedIPs: []string{"100.64.0.2/32"}, LastHandshake: at, RxBytes: 1, TxBytes: 2},
		{NodeID: "n3", PublicKey: "k3", Endpoint: "192.0.2.1:51820", AllowedIPs: []string{"100.64.0.3/32", "10.0.0.0/8"}},
	}
	iface := func(routes RouteList) *InterfaceStatus {
		return &InterfaceStatus{Name: "wg0", ListenPort: 51820, Addresses: []string{"100.64.0.1/32"}, Routes: routes,
			Proxies: []ProxyStatus{{Kind: "socks5", Listen: "127.0.0.1:1080"}}}
	}
	routes := RouteList{{Prefix: "100.64.0.2/32", Via: "n2", Kind: RouteMesh}, {Prefix: "0.0.0.0/0", Via: "n3", Kind: RouteExit}}
	full := func() Status {
		return Status{
			Node:      NodeStatus{ID: "n1", NetworkID: "net", PublicKey: "k1"},
			Build:     BuildStatus{Version: "v1", GoVersion: "go1.26", Protocols: []int{1}},
			Health:    HealthStatus{State: HealthDegraded, Reasons: []string{"a <reason> & more"}},
			Trust:     TrustStatus{Epoch: 7, StateRoot: "ab", LastUpdateAt: at, LastRejected: &Rejection{Code: "REPLAYED_UPDATE", At: at}},
			Sync:      &SyncStatus{Port: 51871, Transport: "mesh", LastError: "é\n"},
			Interface: iface(routes),
			Peers:     peers,
		}
	}
	for _, tc := range []struct {
		name string
		st   func() Status
		fast bool
	}{
		{"zero", func() Status { return Status{} }, true},
		{"full", full, true},
		{"no interface", func() Status { st := full(); st.Interface = nil; return st }, true},
		{"nil routes", func() Status { st := full(); st.Interface = iface(nil); return st }, true},
		{"empty lists", func() Status { st := full(); st.Interface, st.Peers = iface(RouteList{}), PeerList{}; return st }, true},
		{"a peer not plain", func() Status {
			st := full()
			st.Peers = append(PeerList{{NodeID: "<n4>"}}, peers...)
			return st
		}, false},
		{"a route not plain", func() Status { st := full(); st.Interface = iface(RouteList{{Prefix: "\x00"}}); return st }, false},
		{"a string as the peers' marker", func() Status {
			st := full()
			st.Sync.LastError = string(e.peersMarker[1 : len(e.peersMarker)-1])
			return st
		}, false},
		{"a string as the routes' marker", func() Status {
			st := full()
			st.Health.Reasons = []string{string(e.routesMarker[1 : len(e.routesMarker)-1])}
			return st
		}, false},
	} {
		st := tc.st()
		var want bytes.Buffer
		if err := jsonv1.NewEncoder(&want).Encode(st); err != nil {
			t.Fatal(err)
		}
		got, err := e.appendStatus([]byte("prefix"), st)
		if err != nil || !bytes.Equal(got, append([]byte("prefix"), want.Bytes()...)) {
			t.Errorf("%s: wrote (%v)\n%s\nwant\n%s", tc.name, err, got, want.Bytes())
		}
		var want1 Status
		if err := jsonv1.Unmarshal(want.Bytes(), &want1); err != nil {
			t.Fatal(err)
		}
		if back, err := DecodeStatus(got[len("prefix"):]); err != nil || !cmp.Equal(back, want1, cmp.Comparer(timeEqual)) {
			t.Errorf("%s: DecodeStatus (%v): %s", tc.name, err, cmp.Diff(want1, back, cmp.Comparer(timeEqual)))
		}
		if _, fast := e.appendFast(nil, st); fast != tc.fast {
			t.Errorf("%s: written by hand %v, want %v", tc.name, fast, tc.fast)
		}
	}
}
