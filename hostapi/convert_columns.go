package hostapi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/rustynet/rustynet/hostapi/internal/pb"
)

// The peers of a State travel as columns (pb.PeerColumns) when the host
// asks for them: a few byte and packed fields however many peers there are,
// where the row form is a message with three strings per peer that both
// sides must format, parse and allocate. The two forms carry the same
// values under the same rules: a reply is refused in either form for the
// same faults, and errors name the peer (peers[i].field) alike.

// peerColumnsToPB encodes peers as columns, in the memory of columns a
// plugin's server has encoded and handed back (spareColumns), if any.
func peerColumnsToPB(peers []PeerState) (*pb.PeerColumns, error) {
	n := len(peers)
	c := spareColumns.get()
	m := &pb.PeerColumns{
		Count:                    uint32(n),
		PublicKeys:               slices.Grow(c.PublicKeys[:0], n*KeyLen),
		Endpoints:                slices.Grow(c.Endpoints[:0], n*9), // an IPv4 endpoint: 1 + 4 + 2
		AllowedIpCounts:          resized(c.AllowedIpCounts, n),
		AllowedIps:               slices.Grow(c.AllowedIps[:0], n*6), // one IPv4 prefix: 1 + 4 + 1
		PersistentKeepaliveNanos: resized(c.PersistentKeepaliveNanos, n),
		LastHandshakeUnixNanos:   resized(c.LastHandshakeUnixNanos, n),
		RxBytes:                  resized(c.RxBytes, n),
		TxBytes:                  resized(c.TxBytes, n),
	}
	for i := range peers {
		p := &peers[i]
		m.PublicKeys = append(m.PublicKeys, p.PublicKey[:]...)
		if p.Endpoint != (netip.AddrPort{}) && !p.Endpoint.IsValid() {
			return nil, Errorf(CodeInvalidArgument, "peers[%d].endpoint: invalid address and port %s", i, p.Endpoint)
		}
		m.Endpoints = appendAddrPort(m.Endpoints, p.Endpoint)
		m.AllowedIpCounts[i] = uint32(len(p.AllowedIPs))
		for j, a := range p.AllowedIPs {
			if !a.IsValid() {
				return nil, Errorf(CodeInvalidArgument, "peers[%d].allowed_ips[%d]: invalid prefix %s", i, j, a)
			}
			m.AllowedIps = appendPrefix(m.AllowedIps, a)
		}
		var err error
		if m.LastHandshakeUnixNanos[i], err = timeToUnixNano(p.LastHandshake, ""); err != nil {
			_, err = timeToUnixNano(p.LastHandshake, fmt.Sprintf("peers[%d].last_handshake", i))
			return nil, err
		}
		m.PersistentKeepaliveNanos[i] = int64(p.PersistentKeepalive)
		m.RxBytes[i], m.TxBytes[i] = p.RxBytes, p.TxBytes
	}
	return m, nil
}

// routeColumnsToPB encodes routes as one column of prefixes, in the memory
// of one a plugin's server has encoded and handed back, if any.
func routeColumnsToPB(routes []netip.Prefix) ([]byte, error) {
	if len(routes) == 0 {
		return nil, nil
	}
	b := slices.Grow(spareColumns.getRoutes(), len(routes)*6) // an IPv4 prefix: 1 + 4 + 1
	for i, r := range routes {
		if !r.IsValid() {
			return nil, Errorf(CodeInvalidArgument, "routes[%d]: invalid prefix %s", i, r)
		}
		b = appendPrefix(b, r)
	}
	return b, nil
}

// routeColumnsFromPB decodes a column of prefixes. It counts them before
// it allocates: memory is bounded by the column.
func routeColumnsFromPB(b []byte) ([]netip.Prefix, error) {
	n := 0
	for rest := b; len(rest) > 0; n++ {
		var err error
		if _, rest, err = nextItem(rest); err != nil {
			return nil, Errorf(CodeInvalidArgument, "routes[%d]: %v", n, err)
		}
	}
	routes := make([]netip.Prefix, n)
	for i := range routes {
		var err error
		if routes[i], b, err = nextPrefix(b); err != nil {
			return nil, Errorf(CodeInvalidArgument, "routes[%d]: %v", i, err)
		}
	}
	return routes, nil
}

// resized returns s with length n, reusing its memory if it is large
// enough; the elements are for the caller to overwrite.
func resized[E any](s []E, n int) []E {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]E, n)
}

// spareColumns holds the column slices of State replies the plugin's
// server has encoded (recyclingCodec), for the next reply to fill: a
// status read of a large mesh then leaves no columns as garbage. A
// sync.Pool: what it holds goes at the next garbage collection but one.
var spareColumns columnPool

type columnPool struct{ peers, routes sync.Pool }

// get returns spare columns, or empty ones.
func (c *columnPool) get() *pb.PeerColumns {
	if m, ok := c.peers.Get().(*pb.PeerColumns); ok {
		return m
	}
	return new(pb.PeerColumns)
}

// getRoutes returns a spare route column, empty, or nil.
func (c *columnPool) getRoutes() []byte {
	if b, ok := c.routes.Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return nil
}

// putRoutes keeps b for a later getRoutes; nothing may read b afterwards.
func (c *columnPool) putRoutes(b []byte) {
	if cap(b) > 0 {
		c.routes.Put(&b)
	}
}

// put keeps m's slices for a later get; nothing may read m afterwards.
func (c *columnPool) put(m *pb.PeerColumns) {
	if m == nil || m.Count == 0 {
		return
	}
	c.peers.Put(&pb.PeerColumns{
		PublicKeys: m.PublicKeys, Endpoints: m.Endpoints, AllowedIpCounts: m.AllowedIpCounts, AllowedIps: m.AllowedIps,
		PersistentKeepaliveNanos: m.PersistentKeepaliveNanos, LastHandshakeUnixNanos: m.LastHandshakeUnixNanos,
		RxBytes: m.RxBytes, TxBytes: m.TxBytes,
	})
}

// peerColumnsFromPB decodes columns into peers. Memory is bounded by the
// message: the key column must hold count keys before anything is
// allocated, and every allowed IP takes at least two bytes of its column.
func peerColumnsFromPB(m *pb.PeerColumns) ([]PeerState, error) {
	n := int(m.GetCount())
	if got := len(m.GetPublicKeys()); got != n*KeyLen {
		return nil, Errorf(CodeInvalidArgument, "peer_columns.public_keys: %d bytes, want %d for %d peers", got, n*KeyLen, n)
	}
	for _, c := range []struct {
		name string
		len  int
	}{
		{"allowed_ip_counts", len(m.GetAllowedIpCounts())},
		{"persistent_keepalive_nanos", len(m.GetPersistentKeepaliveNanos())},
		{"last_handshake_unix_nanos", len(m.GetLastHandshakeUnixNanos())},
		{"rx_bytes", len(m.GetRxBytes())},
		{"tx_bytes", len(m.GetTxBytes())},
	} {
		if c.len != n {
			return nil, Errorf(CodeInvalidArgument, "peer_columns.%s: %d entries, want %d", c.name, c.len, n)
		}
	}
	var total uint64
	for _, c := range m.GetAllowedIpCounts() {
		total += uint64(c)
	}
	if total > uint64(len(m.GetAllowedIps())/2) {
		return nil, Errorf(CodeInvalidArgument, "peer_columns.allowed_ips: %d bytes cannot hold %d prefixes", len(m.GetAllowedIps()), total)
	}
	if n == 0 {
		if len(m.GetEndpoints()) != 0 || len(m.GetAllowedIps()) != 0 {
			return nil, Errorf(CodeInvalidArgument, "peer_columns: addresses without peers")
		}
		return nil, nil
	}
	peers := make([]PeerState, n)
	prefixes := make([]netip.Prefix, total)
	keys, endpoints, allowed := m.GetPublicKeys(), m.GetEndpoints(), m.GetAllowedIps()
	for i := range peers {
		p := &peers[i]
		copy(p.PublicKey[:], keys[i*KeyLen:])
		var err error
		if p.Endpoint, endpoints, err = nextAddrPort(endpoints); err != nil {
			return nil, Errorf(CodeInvalidArgument, "peers[%d].endpoint: %v", i, err)
		}
		if c := int(m.AllowedIpCounts[i]); c > 0 {
			p.AllowedIPs, prefixes = prefixes[:c:c], prefixes[c:]
			for j := range p.AllowedIPs {
				if p.AllowedIPs[j], allowed, err = nextPrefix(allowed); err != nil {
					return nil, Errorf(CodeInvalidArgument, "peers[%d].allowed_ips[%d]: %v", i, j, err)
				}
			}
		}
		p.PersistentKeepalive = time.Duration(m.PersistentKeepaliveNanos[i])
		p.LastHandshake = timeFromUnixNano(m.LastHandshakeUnixNanos[i])
		p.RxBytes, p.TxBytes = m.RxBytes[i], m.TxBytes[i]
	}
	if len(endpoints) != 0 {
		return nil, Errorf(CodeInvalidArgument, "peer_columns.endpoints: %d bytes after the last peer", len(endpoints))
	}
	if len(allowed) != 0 {
		return nil, Errorf(CodeInvalidArgument, "peer_columns.allowed_ips: %d bytes after the last prefix", len(allowed))
	}
	return peers, nil
}

// appendAddrPort appends ap's binary form after its length.
func appendAddrPort(b []byte, ap netip.AddrPort) []byte {
	var tmp [32]byte
	e, _ := ap.AppendBinary(tmp[:0]) // never fails
	b = binary.AppendUvarint(b, uint64(len(e)))
	return append(b, e...)
}

// appendPrefix appends p's binary form after its length.
func appendPrefix(b []byte, p netip.Prefix) []byte {
	var tmp [32]byte
	e, _ := p.AppendBinary(tmp[:0]) // never fails
	b = binary.AppendUvarint(b, uint64(len(e)))
	return append(b, e...)
}

// nextItem splits the length-prefixed item at the start of b from the rest.
func nextItem(b []byte) (item, rest []byte, err error) {
	size, k := binary.Uvarint(b)
	if k <= 0 || size > uint64(len(b)-k) {
		return nil, nil, errors.New("truncated column")
	}
	end := k + int(size)
	return b[k:end], b[end:], nil
}

// nextAddrPort decodes the endpoint at the start of b: the zero AddrPort
// (no endpoint), or a valid address and port, as the row form's text.
func nextAddrPort(b []byte) (netip.AddrPort, []byte, error) {
	item, rest, err := nextItem(b)
	if err != nil {
		return netip.AddrPort{}, nil, err
	}
	var ap netip.AddrPort
	if err := ap.UnmarshalBinary(item); err != nil {
		return netip.AddrPort{}, nil, err
	}
	if ap != (netip.AddrPort{}) && !ap.IsValid() {
		return netip.AddrPort{}, nil, fmt.Errorf("port %d without an address", ap.Port())
	}
	return ap, rest, nil
}

// nextPrefix decodes the prefix at the start of b: an IPv4 or IPv6 address
// without a zone and a length it can have, as the row form's text.
func nextPrefix(b []byte) (netip.Prefix, []byte, error) {
	item, rest, err := nextItem(b)
	if err != nil {
		return netip.Prefix{}, nil, err
	}
	if len(item) != 4+1 && len(item) != 16+1 {
		return netip.Prefix{}, nil, fmt.Errorf("a prefix of %d bytes, want 5 or 17", len(item))
	}
	var p netip.Prefix
	if err := p.UnmarshalBinary(item); err != nil {
		return netip.Prefix{}, nil, err
	}
	if !p.IsValid() {
		return netip.Prefix{}, nil, fmt.Errorf("prefix length %d for a %d-bit address", item[len(item)-1], p.Addr().BitLen())
	}
	return p, rest, nil
}
