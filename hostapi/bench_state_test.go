package hostapi_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/hostapi/hostapitest"
)

// fixedStateBackend answers State with one prepared state, so that
// BenchmarkState measures the contract's hop and nothing of a backend.
type fixedStateBackend struct {
	*hostapitest.Backend
	state hostapi.InterfaceState
}

func (b *fixedStateBackend) State(context.Context) (hostapi.InterfaceState, error) {
	return b.state, nil
}

// benchInterfaceState is a state of n peers as a netstack node of an
// n+1-member mesh reports it: an endpoint, one /32 and a handshake each.
func benchInterfaceState(n int) hostapi.InterfaceState {
	st := hostapi.InterfaceState{
		Name:       "rn0",
		ListenPort: 51820,
		Addresses:  []netip.Prefix{netip.MustParsePrefix("100.64.0.1/32")},
		Peers:      make([]hostapi.PeerState, n),
	}
	now := time.Now()
	for i := range st.Peers {
		p := &st.Peers[i]
		binary.BigEndian.PutUint64(p.PublicKey[:], uint64(i+1))
		a := netip.AddrFrom4([4]byte{100, 64, byte((i + 2) >> 8), byte(i + 2)})
		p.Endpoint = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 51820)
		p.AllowedIPs = []netip.Prefix{netip.PrefixFrom(a, 32)}
		p.PersistentKeepalive = 25 * time.Second
		p.LastHandshake = now.Add(-time.Duration(i) * time.Second).Truncate(time.Nanosecond)
		p.RxBytes, p.TxBytes = uint64(i)*1500, uint64(i)*900
	}
	return st
}

// BenchmarkState reads a 10,000-peer state through the contract's gRPC
// hop (in process): the plugin side's conversion and encoding, the
// transport, the host side's decoding and conversion.
func BenchmarkState(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("peers=%d", n), func(b *testing.B) {
			impl := &fixedStateBackend{Backend: hostapitest.NewBackend(0), state: benchInterfaceState(n)}
			c, err := hostapi.ServeBackendTest(b.Context(), impl)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(c.Kill)
			b.ReportAllocs()
			for b.Loop() {
				st, err := c.State(b.Context())
				if err != nil {
					b.Fatal(err)
				}
				if len(st.Peers) != n {
					b.Fatalf("got %d peers, want %d", len(st.Peers), n)
				}
			}
		})
	}
}
