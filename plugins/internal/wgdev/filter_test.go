package wgdev

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/plugins/internal/packetfilter"
	ft "github.com/rustynet/rustynet/plugins/internal/packetfilter/filtertest"
	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/tun/tuntest"
)

// silence is how long a packet the filter drops is waited for: a negative
// needs a bound.
const silence = 500 * time.Millisecond

// trySend puts pkt into src's TUN, for the tunnel, and waits up to wait
// for dst's TUN to deliver it.
func trySend(src, dst *node, pkt []byte, wait time.Duration) error {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case src.tun.Outbound <- pkt:
	case <-timer.C:
		return errors.New("source TUN did not take the packet")
	}
	for {
		select {
		case got := <-dst.tun.Inbound:
			if bytes.Equal(got, pkt) {
				return nil
			}
		case <-timer.C:
			return errNoArrival
		}
	}
}

func mustArrive(t *testing.T, src, dst *node, what string, pkt []byte) {
	t.Helper()
	if err := trySend(src, dst, pkt, 10*time.Second); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func mustNotArrive(t *testing.T, src, dst *node, what string, pkt []byte) {
	t.Helper()
	if err := trySend(src, dst, pkt, silence); !errors.Is(err, errNoArrival) {
		t.Fatalf("%s: got %v, want the packet dropped", what, err)
	}
}

func rule(src, dst netip.Addr, proto hostapi.Proto, port uint16) hostapi.FilterRule {
	r := hostapi.FilterRule{Src: []netip.Prefix{netip.PrefixFrom(src, 32)}, Dst: []netip.Prefix{netip.PrefixFrom(dst, 32)}, Proto: proto}
	if port != 0 {
		r.Ports = []hostapi.PortRange{{First: port, Last: port}}
	}
	return r
}

// TestFilterInPath checks the filter between wireguard-go and the TUN
// device: packets from a peer that the filter drops never reach the TUN,
// packets it admits do, replies to what this side sent pass, and a change
// of filter cuts what it no longer admits.
func TestFilterInPath(t *testing.T) {
	a, b := newNode(t, "10.9.0.1"), newNode(t, "10.9.0.2")
	connect(t, a, b)
	ping(t, a, b) // before any filter, everything passes
	aSSH := netip.AddrPortFrom(a.ip, 40000)
	bSSH := netip.AddrPortFrom(b.ip, 22)

	if err := b.dev.SetFilter(hostapi.Filter{Rules: []hostapi.FilterRule{rule(a.ip, b.ip, hostapi.ProtoTCP, 22)}}); err != nil {
		t.Fatalf("SetFilter: %v", err)
	}
	mustNotArrive(t, a, b, "an echo request no rule admits", ft.Echo(a.ip, b.ip, 1, false))
	mustNotArrive(t, a, b, "TCP to a port no rule admits", ft.TCP(aSSH, netip.AddrPortFrom(b.ip, 23), ft.SYN))
	mustArrive(t, a, b, "TCP to the admitted port", ft.TCP(aSSH, bSSH, ft.SYN))
	mustArrive(t, b, a, "the SYN-ACK back", ft.TCP(bSSH, aSSH, ft.SYN|ft.ACK))
	mustArrive(t, a, b, "the connection's next packet", ft.TCP(aSSH, bSSH, ft.ACK))

	// b opens a connection of its own: a's replies pass, with no rule.
	mustArrive(t, b, a, "b's echo request to a", ft.Echo(b.ip, a.ip, 7, false))
	mustArrive(t, a, b, "a's echo reply", ft.Echo(a.ip, b.ip, 7, true))
	mustNotArrive(t, a, b, "an echo reply to nothing b sent", ft.Echo(a.ip, b.ip, 8, true))

	// A filter that no longer admits the TCP connection cuts it.
	if err := b.dev.SetFilter(hostapi.Filter{Rules: []hostapi.FilterRule{rule(a.ip, b.ip, hostapi.ProtoICMP, 0)}}); err != nil {
		t.Fatalf("SetFilter: %v", err)
	}
	mustNotArrive(t, a, b, "the cut connection's next packet", ft.TCP(aSSH, bSSH, ft.ACK|ft.PSH))
	mustArrive(t, a, b, "an echo request the new filter admits", ft.Echo(a.ip, b.ip, 2, false))
	mustArrive(t, a, b, "a's reply to b's echo, opened before the change", ft.Echo(a.ip, b.ip, 7, true))

	st := b.dev.FilterStats()
	if st.Dropped[packetfilter.DropNoRule] < 2 || st.Dropped[packetfilter.DropNotNew] < 2 {
		t.Errorf("FilterStats: got drops %v, want at least 2 for no rule and 2 for not new", st.Dropped)
	}
}

// TestFilterBatch checks that a batch of packets from a peer loses only
// those the filter drops, in order.
func TestFilterBatch(t *testing.T) {
	f := packetfilter.New(packetfilter.Config{})
	inner := tuntest.NewChannelTUN()
	ftun := newFilteredTUN(inner.TUN(), f)
	peer, self := netip.MustParseAddr("10.9.0.1"), netip.MustParseAddr("10.9.0.2")
	if err := f.Set(hostapi.Filter{Rules: []hostapi.FilterRule{rule(peer, self, hostapi.ProtoUDP, 53)}}); err != nil {
		t.Fatal(err)
	}
	const offset = 16
	pkt := func(port uint16) []byte {
		return append(make([]byte, offset), udpPacket(peer, self, port)...)
	}
	bufs := [][]byte{pkt(53), pkt(54), pkt(53), pkt(55)}
	done := make(chan error, 1)
	go func() {
		n, err := ftun.Write(bufs, offset)
		if err == nil && n != len(bufs) {
			err = errors.New("Write did not report every packet handled")
		}
		done <- err
	}()
	for i := range 2 {
		select {
		case got := <-inner.Inbound:
			if !bytes.Equal(got, bufs[2*i][offset:]) {
				t.Errorf("packet %d written: got another packet than the %d-th admitted", i, i)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no packet reached the TUN")
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	select {
	case <-inner.Inbound:
		t.Error("a dropped packet reached the TUN")
	default:
	}
}

func udpPacket(src, dst netip.Addr, port uint16) []byte {
	return ft.UDP(netip.AddrPortFrom(src, 1000), netip.AddrPortFrom(dst, port))
}

func TestSetFilterLifecycle(t *testing.T) {
	d := New(tuntest.NewChannelTUN().TUN(), conn.NewDefaultBind(), nil)
	valid := hostapi.Filter{Rules: []hostapi.FilterRule{rule(netip.MustParseAddr("10.9.0.1"), netip.MustParseAddr("10.9.0.2"), hostapi.ProtoTCP, 22)}}
	if err := d.SetFilter(valid); !errors.Is(err, hostapi.ErrClosed) {
		t.Errorf("SetFilter before Configure: got %v, want CLOSED", err)
	}
	priv, _ := newKey(t)
	if err := d.Configure(hostapi.InterfaceConfig{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	invalid := hostapi.Filter{Rules: []hostapi.FilterRule{{Src: []netip.Prefix{netip.MustParsePrefix("10.9.0.1/8")}, Dst: valid.Rules[0].Dst}}}
	if err := d.SetFilter(invalid); !errors.Is(err, hostapi.ErrInvalidArgument) {
		t.Errorf("SetFilter of an unmasked prefix: got %v, want INVALID_ARGUMENT", err)
	}
	if err := d.SetFilter(valid); err != nil {
		t.Errorf("SetFilter: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.SetFilter(valid); !errors.Is(err, hostapi.ErrClosed) {
		t.Errorf("SetFilter after Close: got %v, want CLOSED", err)
	}
}
