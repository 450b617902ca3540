package wgdev

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"
	"unsafe"

	"github.com/rustynet/rustynet/hostapi"
)

// stateParser reads the text of a UAPI get operation as it is written
// (it is the io.Writer given to wireguard-go's IpcGetOperation), so the
// device's text is never copied into a string of its own: listen_port and
// every peer with its endpoint, last handshake, byte counters, keepalive
// and allowed IPs. Lines it does not use (the private key, preshared keys,
// fwmark, protocol_version) are skipped.
//
// wireguard-go exports a peer's endpoint, handshake time and counters only
// through that text, so reading them this way costs one serialisation of
// the whole device: State reads them in place instead (livestats.go) and
// parses the text only if that is impossible with the wireguard-go in the
// build; Configure parses it to learn the port the device chose. The
// parser adds no allocation per peer: peers go into one slice,
// every peer's allowed IPs into one shared backing slice. A line split
// across Writes is carried over (wireguard-go writes the text at once
// today; nothing here relies on it).
type stateParser struct {
	st      hostapi.InterfaceState
	ips     []netip.Prefix // the allowed IPs of every peer, in order
	ipStart []int32        // per peer: its first index in ips
	hsSec   int64          // last handshake of the current peer
	hsNsec  int64
	partial []byte // an incomplete last line of the previous Write
	err     error  // the first malformed line; later Writes are ignored
}

// newStateParser returns a parser whose slices are sized for peers peers.
func newStateParser(peers int) *stateParser {
	return &stateParser{
		st:      hostapi.InterfaceState{Peers: make([]hostapi.PeerState, 0, peers)},
		ips:     make([]netip.Prefix, 0, peers),
		ipStart: make([]int32, 0, peers),
	}
}

// Write parses every complete line of b and keeps the rest for the next
// Write. It never fails: a malformed line is reported by finish, so that
// wireguard-go does not report a write error of its own.
func (p *stateParser) Write(b []byte) (int, error) {
	n := len(b)
	if p.err != nil {
		return n, nil
	}
	if len(p.partial) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			p.partial = append(p.partial, b...)
			return n, nil
		}
		p.partial = append(p.partial, b[:i]...)
		p.line(p.partial)
		p.partial = p.partial[:0]
		b = b[i+1:]
	}
	for len(b) > 0 && p.err == nil {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			p.partial = append(p.partial, b...)
			break
		}
		p.line(b[:i])
		b = b[i+1:]
	}
	return n, nil
}

// line parses one line, without its newline.
func (p *stateParser) line(line []byte) {
	if len(line) == 0 {
		return
	}
	key, value, ok := bytes.Cut(line, []byte{'='})
	if !ok {
		p.err = fmt.Errorf("malformed line %q", line)
		return
	}
	var err error
	switch string(key) { // no allocation: the compiler compares in place
	case "listen_port":
		var port uint64
		port, err = parseDecimal(value, 1<<16-1)
		p.st.ListenPort = uint16(port)
	case "public_key":
		p.endPeer()
		p.st.Peers = append(p.st.Peers, hostapi.PeerState{})
		p.ipStart = append(p.ipStart, int32(len(p.ips)))
		err = decodeHexKey(value, &p.st.Peers[len(p.st.Peers)-1].PublicKey)
	case "endpoint", "last_handshake_time_sec", "last_handshake_time_nsec",
		"tx_bytes", "rx_bytes", "persistent_keepalive_interval", "allowed_ip":
		if len(p.st.Peers) == 0 {
			err = errors.New("peer line before any public_key")
			break
		}
		err = p.peerLine(&p.st.Peers[len(p.st.Peers)-1], string(key), value)
	}
	if err != nil {
		p.err = fmt.Errorf("line %q: %w", line, err)
	}
}

func (p *stateParser) peerLine(peer *hostapi.PeerState, key string, value []byte) error {
	var err error
	var n uint64
	switch key {
	case "endpoint":
		// A bind whose endpoints are not IP:port leaves the endpoint unknown.
		if ep, err := netip.ParseAddrPort(transient(value)); err == nil {
			peer.Endpoint = ep
		}
	case "last_handshake_time_sec":
		n, err = parseDecimal(value, 1<<63-1)
		p.hsSec = int64(n)
	case "last_handshake_time_nsec":
		n, err = parseDecimal(value, 1<<63-1)
		p.hsNsec = int64(n)
	case "tx_bytes":
		peer.TxBytes, err = parseDecimal(value, 1<<64-1)
	case "rx_bytes":
		peer.RxBytes, err = parseDecimal(value, 1<<64-1)
	case "persistent_keepalive_interval":
		n, err = parseDecimal(value, 1<<16-1)
		peer.PersistentKeepalive = time.Duration(n) * time.Second
	case "allowed_ip":
		var a netip.Prefix
		if a, err = netip.ParsePrefix(transient(value)); err != nil {
			// The error holds its input: give it a copy of its own.
			_, err = netip.ParsePrefix(string(value))
			break
		}
		p.ips = append(p.ips, a)
	}
	return err
}

// endPeer completes the last peer begun, if any, with its handshake time.
func (p *stateParser) endPeer() {
	if len(p.st.Peers) == 0 {
		return
	}
	if p.hsSec != 0 || p.hsNsec != 0 {
		p.st.Peers[len(p.st.Peers)-1].LastHandshake = time.Unix(p.hsSec, p.hsNsec)
	}
	p.hsSec, p.hsNsec = 0, 0
}

// finish returns what was read: peers sorted by public key, each peer's
// allowed IPs sorted (each a full slice expression of one shared array,
// so appending to one never overwrites another). It fails for a malformed
// line or text that ends inside a line.
func (p *stateParser) finish() (hostapi.InterfaceState, error) {
	if p.err != nil {
		return hostapi.InterfaceState{}, p.err
	}
	if len(p.partial) > 0 {
		return hostapi.InterfaceState{}, fmt.Errorf("text ends inside the line %q", p.partial)
	}
	p.endPeer()
	for i := range p.st.Peers {
		start, end := int(p.ipStart[i]), len(p.ips)
		if i+1 < len(p.ipStart) {
			end = int(p.ipStart[i+1])
		}
		ips := p.ips[start:end:end]
		if len(ips) > 1 {
			slices.SortFunc(ips, comparePrefix)
		}
		if len(ips) > 0 {
			p.st.Peers[i].AllowedIPs = ips
		}
	}
	if !slices.IsSortedFunc(p.st.Peers, comparePeerKey) {
		slices.SortFunc(p.st.Peers, comparePeerKey)
	}
	return p.st, nil
}

// parseState parses the whole text of a UAPI get operation.
func parseState(text []byte) (hostapi.InterfaceState, error) {
	p := newStateParser(0)
	p.Write(text) // never fails; finish reports a malformed line
	return p.finish()
}

// transient returns b as a string without copying it, for a parse that
// keeps nothing of its input once it succeeds (netip copies a zone): b is
// wireguard-go's pooled buffer, which it reuses after the get operation.
func transient(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// parseDecimal parses an unsigned decimal of at most max, without
// allocating.
func parseDecimal(b []byte, max uint64) (uint64, error) {
	if len(b) == 0 {
		return 0, errors.New("empty number")
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a decimal number", b)
		}
		d := uint64(c - '0')
		if n > (max-d)/10 {
			return 0, fmt.Errorf("%s is out of range (at most %d)", b, max)
		}
		n = n*10 + d
	}
	return n, nil
}

func decodeHexKey(s []byte, k *hostapi.Key) error {
	if hex.DecodedLen(len(s)) != len(k) {
		return fmt.Errorf("key is %d hex digits, want %d", len(s), 2*len(k))
	}
	_, err := hex.Decode(k[:], s)
	return err
}

func comparePeerKey(a, b hostapi.PeerState) int {
	return bytes.Compare(a.PublicKey[:], b.PublicKey[:])
}

// comparePrefix orders prefixes by address, then length.
func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}
