package hostapi

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rustynet/rustynet/hostapi/internal/pb"
)

// columnPeers covers every shape a peer's values can take on the wire.
func columnPeers() []PeerState {
	key := func(b byte) (k Key) { k[0], k[31] = b, ^b; return k }
	return []PeerState{
		{PublicKey: key(1)}, // nothing known
		{
			PublicKey:           key(2),
			Endpoint:            netip.MustParseAddrPort("192.0.2.7:51820"),
			AllowedIPs:          []netip.Prefix{netip.MustParsePrefix("100.64.0.2/32")},
			PersistentKeepalive: 25 * time.Second,
			LastHandshake:       time.Unix(0, 1_700_000_000_123_456_789),
			RxBytes:             1 << 40, TxBytes: 3,
		},
		{
			PublicKey: key(3),
			Endpoint:  netip.MustParseAddrPort("[fe80::1%eth0]:1"), // a zone
			AllowedIPs: []netip.Prefix{
				netip.MustParsePrefix("fd00::/8"),
				netip.MustParsePrefix("10.1.2.3/24"), // not masked: kept as sent
				netip.MustParsePrefix("0.0.0.0/0"),
				netip.MustParsePrefix("::/0"),
			},
			LastHandshake: time.Unix(0, -1), // before 1970
		},
		{PublicKey: key(4), Endpoint: netip.MustParseAddrPort("[2001:db8::9]:0"), AllowedIPs: []netip.Prefix{}},
		{PublicKey: key(5), Endpoint: netip.MustParseAddrPort("[::ffff:10.0.0.1]:65535"), RxBytes: ^uint64(0), TxBytes: ^uint64(0)},
	}
}

// TestPeerColumnsMatchRows: a state read as columns is the state read as
// rows, which is the state sent (an empty allowed-IP list reads as nil in
// both forms).
func TestPeerColumnsMatchRows(t *testing.T) {
	routes := []netip.Prefix{netip.MustParsePrefix("100.64.0.2/32"), netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("0.0.0.0/0"),
		netip.MustParsePrefix("10.1.2.3/24")} // not masked: kept as sent
	sent := InterfaceState{Name: "rn0", ListenPort: 51820, Peers: columnPeers(), Routes: routes}
	want := InterfaceState{Name: "rn0", ListenPort: 51820, Peers: columnPeers(), Routes: routes}
	want.Peers[3].AllowedIPs = nil
	for _, form := range []stateForm{{}, {peerColumns: true}, {routeColumns: true}, {peerColumns: true, routeColumns: true}} {
		m, err := interfaceStateToPB(sent, form)
		if err != nil {
			t.Fatal(err)
		}
		if form.peerColumns != (m.PeerColumns != nil) || form.peerColumns == (len(m.Peers) > 0) {
			t.Fatalf("%+v: encoded %d rows and columns %v", form, len(m.Peers), m.PeerColumns != nil)
		}
		if form.routeColumns != (len(m.RouteColumns) > 0) || form.routeColumns == (len(m.Routes) > 0) {
			t.Fatalf("%+v: encoded %d route strings and %d bytes of route columns", form, len(m.Routes), len(m.RouteColumns))
		}
		got, err := interfaceStateFromPB(m)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%+v:\n got %+v\nwant %+v", form, got, want)
		}
	}
	t.Run("no peers", func(t *testing.T) {
		m, err := interfaceStateToPB(InterfaceState{}, stateForm{peerColumns: true, routeColumns: true})
		if err != nil {
			t.Fatal(err)
		}
		got, err := interfaceStateFromPB(m)
		if err != nil || got.Peers != nil || got.Routes != nil {
			t.Fatalf("got %v, %v, %v; want no peers and no routes", got.Peers, got.Routes, err)
		}
	})
	t.Run("decoded allowed IPs do not share capacity", func(t *testing.T) {
		m, _ := interfaceStateToPB(sent, stateForm{peerColumns: true})
		got, _ := interfaceStateFromPB(m)
		next := got.Peers[3-1].AllowedIPs[0]
		_ = append(got.Peers[1].AllowedIPs, netip.Prefix{})
		if got.Peers[2].AllowedIPs[0] != next {
			t.Fatal("appending to one peer's allowed IPs overwrote the next peer's")
		}
	})
}

func TestRouteColumnsRejectAnInvalidPrefix(t *testing.T) {
	_, err := routeColumnsToPB([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), {}})
	if CodeOf(err) != CodeInvalidArgument || !strings.Contains(err.Error(), "routes[1]: invalid prefix") {
		t.Fatalf("got %v, want INVALID_ARGUMENT naming routes[1]", err)
	}
}

func TestPeerColumnsRejectUnencodablePeers(t *testing.T) {
	tests := []struct {
		name string
		peer PeerState
		want string
	}{
		{"port without address", PeerState{Endpoint: netip.AddrPortFrom(netip.Addr{}, 8080)}, "peers[1].endpoint: invalid address"},
		{"invalid prefix", PeerState{AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), {}}}, "peers[1].allowed_ips[1]: invalid prefix"},
		{"time after 2262", PeerState{LastHandshake: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)}, "peers[1].last_handshake: time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := peerColumnsToPB([]PeerState{{}, tt.peer})
			if CodeOf(err) != CodeInvalidArgument || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want INVALID_ARGUMENT naming %q", err, tt.want)
			}
		})
	}
}

// TestPeerColumnsRejectMalformed: a reply no Go plugin sends is refused
// whole, naming the column or the peer, and never read past its bytes.
func TestPeerColumnsRejectMalformed(t *testing.T) {
	valid := func() *pb.PeerColumns {
		m, err := peerColumnsToPB(columnPeers())
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	item := func(b ...byte) []byte { return append(binary.AppendUvarint(nil, uint64(len(b))), b...) }
	tests := []struct {
		name   string
		change func(m *pb.PeerColumns)
		want   string
	}{
		{"short key column", func(m *pb.PeerColumns) { m.PublicKeys = m.PublicKeys[1:] }, "public_keys: 159 bytes, want 160"},
		{"count beyond the keys", func(m *pb.PeerColumns) { m.Count = 1 << 31 }, "public_keys"},
		{"short counter column", func(m *pb.PeerColumns) { m.RxBytes = m.RxBytes[1:] }, "rx_bytes: 4 entries, want 5"},
		{"long keepalive column", func(m *pb.PeerColumns) { m.PersistentKeepaliveNanos = append(m.PersistentKeepaliveNanos, 1) }, "persistent_keepalive_nanos"},
		{"short handshake column", func(m *pb.PeerColumns) { m.LastHandshakeUnixNanos = nil }, "last_handshake_unix_nanos"},
		{"short allowed-IP count column", func(m *pb.PeerColumns) { m.AllowedIpCounts = m.AllowedIpCounts[1:] }, "allowed_ip_counts"},
		{"more prefixes than bytes", func(m *pb.PeerColumns) { m.AllowedIpCounts[0] = 1 << 30 }, "cannot hold"},
		{"counts overflow 32 bits", func(m *pb.PeerColumns) {
			for i := range m.AllowedIpCounts {
				m.AllowedIpCounts[i] = ^uint32(0)
			}
		}, "cannot hold"},
		{"one prefix too few", func(m *pb.PeerColumns) { m.AllowedIpCounts[2]-- }, "allowed_ips: 18 bytes after the last prefix"},
		{"one prefix too many", func(m *pb.PeerColumns) { m.AllowedIpCounts[4]++ }, "peers[4].allowed_ips[0]: truncated"},
		{"endpoint bytes left over", func(m *pb.PeerColumns) { m.Endpoints = append(m.Endpoints, item(0, 0)...) }, "endpoints: 3 bytes after the last peer"},
		{"truncated endpoints", func(m *pb.PeerColumns) { m.Endpoints = m.Endpoints[:len(m.Endpoints)-1] }, "peers[4].endpoint: truncated"},
		{"endpoint length beyond the column", func(m *pb.PeerColumns) { m.Endpoints = append(item(0, 0), 0xff, 0xff, 0xff, 0x7f) }, "peers[1].endpoint: truncated"},
		{"endpoint length not a uvarint", func(m *pb.PeerColumns) { m.Endpoints = bytes.Repeat([]byte{0xff}, 11) }, "peers[0].endpoint: truncated"},
		{"endpoint of one byte", func(m *pb.PeerColumns) { m.Endpoints = append(item(7), m.Endpoints[3:]...) }, "peers[0].endpoint"},
		{"endpoint address of 5 bytes", func(m *pb.PeerColumns) { m.Endpoints = append(item(1, 2, 3, 4, 5, 0, 1), m.Endpoints[3:]...) }, "peers[0].endpoint"},
		{"port without an address", func(m *pb.PeerColumns) { m.Endpoints = append(item(0x50, 0x1f), m.Endpoints[3:]...) }, "peers[0].endpoint: port 8016 without an address"},
		{"prefix length 33", func(m *pb.PeerColumns) { m.AllowedIps = append(item(100, 64, 0, 2, 33), m.AllowedIps[6:]...) }, "peers[1].allowed_ips[0]: prefix length 33 for a 32-bit address"},
		{"prefix with a zone", func(m *pb.PeerColumns) {
			m.AllowedIps = append(item(append(make([]byte, 16), 'e', 't', 'h', 64)...), m.AllowedIps[6:]...)
		}, "peers[1].allowed_ips[0]: a prefix of 20 bytes"},
		{"prefix without an address", func(m *pb.PeerColumns) { m.AllowedIps = append(item(0), m.AllowedIps[6:]...) }, "peers[1].allowed_ips[0]: a prefix of 1 bytes"},
		{"addresses without peers", func(m *pb.PeerColumns) { *m = pb.PeerColumns{Endpoints: item(0, 0)} }, "addresses without peers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := valid()
			tt.change(m)
			peers, err := peerColumnsFromPB(m)
			if CodeOf(err) != CodeInvalidArgument || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want INVALID_ARGUMENT containing %q", err, tt.want)
			}
			if peers != nil {
				t.Errorf("got %d peers with the error, want none", len(peers))
			}
		})
	}
	t.Run("both forms of routes", func(t *testing.T) {
		m := &pb.InterfaceState{PublicKey: make([]byte, KeyLen), Routes: []string{"10.0.0.0/8"}, RouteColumns: item(10, 0, 0, 0, 8)}
		if _, err := interfaceStateFromPB(m); CodeOf(err) != CodeInvalidArgument || !strings.Contains(err.Error(), "both routes and route_columns") {
			t.Fatalf("got %v, want INVALID_ARGUMENT naming both forms", err)
		}
	})
	for _, tt := range []struct {
		name    string
		columns []byte
		want    string
	}{
		{"truncated", item(10, 0, 0, 0, 8)[:4], "routes[0]: truncated"},
		{"length beyond the column", append(item(10, 0, 0, 0, 8), 0xff, 0xff, 0x7f), "routes[1]: truncated"},
		{"prefix length 33", append(item(10, 0, 0, 0, 8), item(10, 0, 0, 1, 33)...), "routes[1]: prefix length 33"},
		{"prefix of 3 bytes", item(10, 0, 8), "routes[0]: a prefix of 3 bytes"},
	} {
		t.Run("route columns "+tt.name, func(t *testing.T) {
			routes, err := routeColumnsFromPB(tt.columns)
			if CodeOf(err) != CodeInvalidArgument || !strings.Contains(err.Error(), tt.want) || routes != nil {
				t.Fatalf("got %v, %v; want INVALID_ARGUMENT containing %q and no routes", routes, err, tt.want)
			}
		})
	}
	t.Run("both forms", func(t *testing.T) {
		m := &pb.InterfaceState{PublicKey: make([]byte, KeyLen), PeerColumns: valid(), Peers: []*pb.PeerState{{PublicKey: make([]byte, KeyLen)}}}
		if _, err := interfaceStateFromPB(m); CodeOf(err) != CodeInvalidArgument || !strings.Contains(err.Error(), "both peers and peer_columns") {
			t.Fatalf("got %v, want INVALID_ARGUMENT naming both forms", err)
		}
	})
}

// FuzzPeerColumns: any columns either are refused or decode to peers that
// encode and decode again to the same peers.
func FuzzPeerColumns(f *testing.F) {
	m, err := peerColumnsToPB(columnPeers())
	if err != nil {
		f.Fatal(err)
	}
	var counts []byte
	for _, c := range m.AllowedIpCounts {
		counts = append(counts, byte(c))
	}
	f.Add(uint8(m.Count), m.Endpoints, counts, m.AllowedIps)
	f.Add(uint8(1), []byte{2, 0, 0}, []byte{1}, []byte{5, 10, 0, 0, 0, 8})
	f.Fuzz(func(t *testing.T, n uint8, endpoints, counts, allowed []byte) {
		c := &pb.PeerColumns{
			Count:                    uint32(n),
			PublicKeys:               make([]byte, int(n)*KeyLen),
			Endpoints:                endpoints,
			AllowedIps:               allowed,
			PersistentKeepaliveNanos: make([]int64, n),
			LastHandshakeUnixNanos:   make([]int64, n),
			RxBytes:                  make([]uint64, n),
			TxBytes:                  make([]uint64, n),
		}
		for _, b := range counts {
			c.AllowedIpCounts = append(c.AllowedIpCounts, uint32(b))
		}
		peers, err := peerColumnsFromPB(c)
		if err != nil {
			if CodeOf(err) != CodeInvalidArgument {
				t.Fatalf("refused with %v, want INVALID_ARGUMENT", err)
			}
			return
		}
		again, err := peerColumnsToPB(peers)
		if err != nil {
			t.Fatalf("decoded peers do not encode: %v", err)
		}
		back, err := peerColumnsFromPB(again)
		if err != nil || !reflect.DeepEqual(back, peers) {
			t.Fatalf("round trip of decoded peers: got %+v, %v; want %+v", back, err, peers)
		}
	})
}
