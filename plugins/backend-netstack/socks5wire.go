package netstack

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
)

// SOCKS version 5 wire format, RFC 1928.
const (
	socksVersion = 5

	socksMethodNoAuth       = 0x00
	socksMethodUserPass     = 0x02 // RFC 1929
	socksMethodNoAcceptable = 0xff

	socksCmdConnect      = 1
	socksCmdBind         = 2
	socksCmdUDPAssociate = 3

	socksAtypIPv4   = 1
	socksAtypDomain = 3
	socksAtypIPv6   = 4

	socksRepSucceeded           = 0
	socksRepGeneralFailure      = 1
	socksRepNotAllowed          = 2
	socksRepNetworkUnreachable  = 3
	socksRepHostUnreachable     = 4
	socksRepConnectionRefused   = 5
	socksRepTTLExpired          = 6
	socksRepCommandNotSupported = 7
	socksRepAddrNotSupported    = 8
)

// errSocksAtyp is an address type this server does not know.
var errSocksAtyp = errors.New("socks5: unknown address type")

// errSocksRequest is a request or datagram header read whole but
// malformed.
var errSocksRequest = errors.New("socks5: malformed request")

// socksAddr is a SOCKS destination: an address or a domain name, and a port.
type socksAddr struct {
	ip   netip.Addr // valid unless name is set
	name string
	port uint16
}

func (a socksAddr) String() string {
	if a.name != "" {
		return a.name + ":" + strconv.Itoa(int(a.port))
	}
	return netip.AddrPortFrom(a.ip, a.port).String()
}

// host is the address or name, without the port.
func (a socksAddr) host() string {
	if a.name != "" {
		return a.name
	}
	return a.ip.String()
}

// readGreeting reads the client's version and method list.
func readGreeting(r io.Reader) (methods []byte, err error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	if hdr[0] != socksVersion {
		return nil, fmt.Errorf("socks5: version %d", hdr[0])
	}
	if hdr[1] == 0 {
		return nil, errors.New("socks5: no authentication methods offered")
	}
	methods = make([]byte, hdr[1])
	if _, err := io.ReadFull(r, methods); err != nil {
		return nil, err
	}
	return methods, nil
}

// Username/password authentication for SOCKS5, RFC 1929.
const (
	socksAuthVersion = 1
	socksAuthOK      = 0
	socksAuthFailed  = 1
)

// readUserPass reads a username/password request: VER ULEN UNAME PLEN
// PASSWD. A version other than socksAuthVersion is an error.
func readUserPass(r io.Reader) (user, pass string, err error) {
	var ver [1]byte
	if _, err := io.ReadFull(r, ver[:]); err != nil {
		return "", "", err
	}
	if ver[0] != socksAuthVersion {
		return "", "", fmt.Errorf("socks5: username/password version %d", ver[0])
	}
	if user, err = readShortString(r); err != nil {
		return "", "", err
	}
	if pass, err = readShortString(r); err != nil {
		return "", "", err
	}
	return user, pass, nil
}

// readShortString reads a length byte and that many bytes.
func readShortString(r io.Reader) (string, error) {
	var n [1]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return "", err
	}
	b := make([]byte, n[0])
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return string(b), nil
}

// readRequest reads a request: VER CMD RSV ATYP DST.ADDR DST.PORT. An
// unknown address type returns errSocksAtyp (reply socksRepAddrNotSupported);
// a request read whole but malformed, an error wrapping errSocksRequest
// (reply socksRepGeneralFailure).
func readRequest(r io.Reader) (cmd byte, dst socksAddr, err error) {
	var hdr [3]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, dst, err
	}
	// The address is read before the version is judged, so that the
	// reply is not lost to a reset for unread bytes.
	dst, err = readAddr(r)
	if err == nil && hdr[0] != socksVersion {
		err = fmt.Errorf("%w: version %d", errSocksRequest, hdr[0])
	}
	return hdr[1], dst, err
}

// readAddr reads ATYP ADDR PORT.
func readAddr(r io.Reader) (socksAddr, error) {
	var a socksAddr
	var atyp [1]byte
	if _, err := io.ReadFull(r, atyp[:]); err != nil {
		return a, err
	}
	switch atyp[0] {
	case socksAtypIPv4:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return a, err
		}
		a.ip = netip.AddrFrom4(b)
	case socksAtypIPv6:
		var b [16]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return a, err
		}
		a.ip = netip.AddrFrom16(b).Unmap()
	case socksAtypDomain:
		var n [1]byte
		if _, err := io.ReadFull(r, n[:]); err != nil {
			return a, err
		}
		if n[0] == 0 {
			if _, err := io.ReadFull(r, make([]byte, 2)); err != nil { // the port
				return a, err
			}
			return a, fmt.Errorf("%w: empty domain name", errSocksRequest)
		}
		name := make([]byte, n[0])
		if _, err := io.ReadFull(r, name); err != nil {
			return a, err
		}
		// Clients often send an address as a name. A zoned IPv6 literal
		// ("fe80::1%eth0") names no interface of the mesh: it stays a
		// name, which resolves to nothing.
		if ip, err := netip.ParseAddr(string(name)); err == nil && ip.Zone() == "" {
			a.ip = ip.Unmap()
		} else {
			a.name = string(name)
		}
	default:
		return a, errSocksAtyp
	}
	var port [2]byte
	if _, err := io.ReadFull(r, port[:]); err != nil {
		return a, err
	}
	a.port = binary.BigEndian.Uint16(port[:])
	return a, nil
}

// appendAddr appends ATYP ADDR PORT for ap.
func appendAddr(b []byte, ap netip.AddrPort) []byte {
	a := ap.Addr().Unmap()
	if a.Is4() {
		b = append(b, socksAtypIPv4)
	} else {
		b = append(b, socksAtypIPv6)
	}
	b = append(b, a.AsSlice()...)
	return binary.BigEndian.AppendUint16(b, ap.Port())
}

// writeReply writes VER REP RSV ATYP BND.ADDR BND.PORT. An invalid bnd is
// sent as 0.0.0.0:0.
func writeReply(w io.Writer, rep byte, bnd netip.AddrPort) error {
	if !bnd.Addr().IsValid() {
		bnd = netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	}
	_, err := w.Write(appendAddr([]byte{socksVersion, rep, 0}, bnd))
	return err
}

// parseDatagram splits a UDP ASSOCIATE datagram, RSV(2) FRAG ATYP DST.ADDR
// DST.PORT DATA, into destination and payload. Fragments are refused.
func parseDatagram(b []byte) (socksAddr, []byte, error) {
	if len(b) < 4 {
		return socksAddr{}, nil, errors.New("socks5: short datagram")
	}
	if b[2] != 0 {
		return socksAddr{}, nil, errors.New("socks5: fragmented datagrams are not supported")
	}
	r := &sliceReader{b: b[3:]}
	dst, err := readAddr(r)
	if err != nil {
		return socksAddr{}, nil, err
	}
	return dst, r.b, nil
}

// appendDatagram appends a UDP ASSOCIATE datagram from src carrying payload.
func appendDatagram(b []byte, src netip.AddrPort, payload []byte) []byte {
	b = append(b, 0, 0, 0)
	b = appendAddr(b, src)
	return append(b, payload...)
}

// sliceReader reads from a byte slice; unlike bytes.Reader it exposes the
// rest without copying.
type sliceReader struct{ b []byte }

func (r *sliceReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}
