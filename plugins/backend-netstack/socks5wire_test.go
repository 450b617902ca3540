package netstack

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var socksAddrCmp = cmp.Comparer(func(x, y socksAddr) bool { return x == y })

// encodeAddr writes ATYP ADDR PORT for a, independently of appendAddr.
func encodeAddr(a socksAddr) []byte {
	var b []byte
	switch {
	case a.name != "":
		b = append([]byte{socksAtypDomain, byte(len(a.name))}, a.name...)
	case a.ip.Is4():
		b = append([]byte{socksAtypIPv4}, a.ip.AsSlice()...)
	default:
		b = append([]byte{socksAtypIPv6}, a.ip.AsSlice()...)
	}
	return binary.BigEndian.AppendUint16(b, a.port)
}

func TestReadRequest(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		wantCmd byte
		want    socksAddr
		wantErr error // nil: success; io.ErrUnexpectedEOF etc. compared with errors.Is
	}{
		{"CONNECT IPv4", []byte{5, 1, 0, 1, 100, 64, 0, 2, 0, 80}, 1, socksAddr{ip: netip.MustParseAddr("100.64.0.2"), port: 80}, nil},
		{"CONNECT IPv6", append(append([]byte{5, 1, 0, 4}, netip.MustParseAddr("fd00::2").AsSlice()...), 1, 187), 1, socksAddr{ip: netip.MustParseAddr("fd00::2"), port: 443}, nil},
		{"IPv4-mapped IPv6 is unmapped", append(append([]byte{5, 1, 0, 4}, netip.MustParseAddr("::ffff:100.64.0.2").AsSlice()...), 0, 80), 1, socksAddr{ip: netip.MustParseAddr("100.64.0.2"), port: 80}, nil},
		{"UDP ASSOCIATE with a name", append([]byte{5, 3, 0, 3, 8}, append([]byte("web.mesh"), 0, 53)...), 3, socksAddr{name: "web.mesh", port: 53}, nil},
		{"address sent as a name", append([]byte{5, 1, 0, 3, 10}, append([]byte("100.64.0.2"), 0, 80)...), 1, socksAddr{ip: netip.MustParseAddr("100.64.0.2"), port: 80}, nil},
		{"wrong version", []byte{4, 1, 0, 1, 1, 2, 3, 4, 0, 80}, 0, socksAddr{}, errSocksRequest},
		{"unknown address type", []byte{5, 1, 0, 9, 1, 2, 3, 4, 0, 80}, 1, socksAddr{}, errSocksAtyp},
		{"empty name", []byte{5, 1, 0, 3, 0, 0, 80}, 1, socksAddr{}, errSocksRequest},
		{"truncated address", []byte{5, 1, 0, 1, 1, 2}, 1, socksAddr{}, io.ErrUnexpectedEOF},
		{"truncated port", []byte{5, 1, 0, 1, 1, 2, 3, 4, 0}, 1, socksAddr{}, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, got, err := readRequest(bytes.NewReader(tt.in))
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got error %v, want %v", err, tt.wantErr)
				}
				return
			case err != nil:
				t.Fatalf("got error %v", err)
			}
			if cmd != tt.wantCmd {
				t.Errorf("got command %d, want %d", cmd, tt.wantCmd)
			}
			if diff := cmp.Diff(tt.want, got, socksAddrCmp); diff != "" {
				t.Errorf("address (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadGreeting(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    []byte
		wantErr bool
	}{
		{"no auth", []byte{5, 1, 0}, []byte{0}, false},
		{"several methods", []byte{5, 3, 2, 1, 0}, []byte{2, 1, 0}, false},
		{"SOCKS4", []byte{4, 1, 0}, nil, true},
		{"no methods", []byte{5, 0}, nil, true},
		{"truncated", []byte{5, 2, 0}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readGreeting(bytes.NewReader(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error: %v", err, tt.wantErr)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("got methods % x, want % x", got, tt.want)
			}
		})
	}
}

func TestDatagramRoundTrip(t *testing.T) {
	for _, src := range []netip.AddrPort{
		netip.MustParseAddrPort("100.64.0.2:53"),
		netip.MustParseAddrPort("[fd00::2]:5353"),
	} {
		payload := []byte("payload")
		b := appendDatagram(nil, src, payload)
		dst, got, err := parseDatagram(b)
		if err != nil {
			t.Fatalf("parseDatagram(appendDatagram(%v)): %v", src, err)
		}
		if want := (socksAddr{ip: src.Addr(), port: src.Port()}); dst != want {
			t.Errorf("got address %v, want %v", dst, want)
		}
		if !bytes.Equal(got, payload) {
			t.Errorf("got payload %q, want %q", got, payload)
		}
	}
	if _, _, err := parseDatagram([]byte{0, 0, 1, 1, 1, 2, 3, 4, 0, 53, 'x'}); err == nil {
		t.Error("a fragment was accepted")
	}
}

// FuzzReadRequest checks that any input is either rejected or parsed into a
// request that encodes back to the bytes consumed (modulo an address sent
// as a name, which comes back as an address) and parses the same again.
func FuzzReadRequest(f *testing.F) {
	f.Add([]byte{5, 1, 0, 1, 100, 64, 0, 2, 0, 80})
	f.Add(append([]byte{5, 3, 0, 3, 8}, append([]byte("web.mesh"), 0, 53)...))
	f.Add(append(append([]byte{5, 1, 0, 4}, make([]byte, 16)...), 0, 1))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		cmd, a, err := readRequest(r)
		if err != nil {
			return
		}
		if a.name == "" && !a.ip.IsValid() {
			t.Fatalf("parsed %q into an address with neither name nor IP", in)
		}
		again := append([]byte{5, cmd, in[2]}, encodeAddr(a)...)
		if consumed := in[:len(in)-r.Len()]; a.name != "" && !bytes.Equal(again, consumed) {
			t.Fatalf("re-encoding gave % x, want the consumed % x", again, consumed)
		}
		cmd2, a2, err := readRequest(bytes.NewReader(again))
		if err != nil || cmd2 != cmd || a2 != a {
			t.Fatalf("re-parse: got %d %v %v, want %d %v", cmd2, a2, err, cmd, a)
		}
	})
}

// FuzzParseDatagram checks that any datagram is either rejected or split
// into an address and a payload that re-encode to the same datagram.
func FuzzParseDatagram(f *testing.F) {
	f.Add(appendDatagram(nil, netip.MustParseAddrPort("100.64.0.2:7"), []byte("x")))
	f.Add(append([]byte{0, 0, 0, 3, 4}, append([]byte("mesh"), 0, 53, 'q')...))
	f.Fuzz(func(t *testing.T, in []byte) {
		a, payload, err := parseDatagram(in)
		if err != nil {
			return
		}
		again := append(append([]byte{in[0], in[1], 0}, encodeAddr(a)...), payload...)
		a2, payload2, err := parseDatagram(again)
		if err != nil || a2 != a || !bytes.Equal(payload2, payload) {
			t.Fatalf("re-parse of % x: got %v %q %v, want %v %q", again, a2, payload2, err, a, payload)
		}
		if a.name != "" && !bytes.Equal(again, in) {
			t.Fatalf("re-encoding gave % x, want % x", again, in)
		}
	})
}
