package hostapi

import (
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rustynet/rustynet/hostapi/internal/pb"
)

// TestConversionsRejectInvalidValues covers every validating conversion in
// both directions: each must fail with CodeInvalidArgument naming the field.
func TestConversionsRejectInvalidValues(t *testing.T) {
	tests := []struct {
		name     string
		convert  func() error
		wantWhat string
	}{
		{"short key", func() error { _, err := keyFromBytes(make([]byte, 31), "k"); return err }, "k: key is 31 bytes"},
		{"long key", func() error { _, err := keyFromBytes(make([]byte, 33), "k"); return err }, "k: key is 33 bytes"},
		{"empty key", func() error { _, err := keyFromBytes(nil, "k"); return err }, "k: key is 0 bytes"},
		{"key in list", func() error { _, err := keysFromBytes([][]byte{make([]byte, 32), {1}}, "keys"); return err }, "keys[1]"},
		{"short private key", func() error { _, err := privateKeyFromBytes([]byte{1}, "private_key"); return err }, "private_key"},
		{"prefix text", func() error { _, err := prefixesFromStrings([]string{"10.0.0.0/8", "10.0.0.0/33"}, "p"); return err }, "p[1]"},
		{"empty prefix text", func() error { _, err := prefixesFromStrings([]string{""}, "p"); return err }, "p[0]"},
		{"addr-port text", func() error { _, err := addrPortFromString("1.2.3.4", "e"); return err }, "e:"},
		{"addr text", func() error { _, err := addrsFromStrings([]string{"1.2.3"}, "dns"); return err }, "dns[0]"},
		{"port", func() error { _, err := portFromUint32(65536, "port"); return err }, "port: port 65536"},
		{"protocol from wire", func() error { _, err := protoFromPB(pb.Proto(4), "proto"); return err }, "proto: unknown protocol 4"},
		{"negative protocol from wire", func() error { _, err := protoFromPB(pb.Proto(-1), "proto"); return err }, "proto"},
		{"invalid prefix to wire", func() error { _, err := prefixesToStrings(make([]netip.Prefix, 1), "p"); return err }, "p[0]: invalid prefix"},
		{"port without address to wire", func() error { _, err := addrPortToString(netip.AddrPortFrom(netip.Addr{}, 8080), "e"); return err }, "e: invalid address"},
		{"invalid address to wire", func() error { _, err := addrsToStrings(make([]netip.Addr, 1), "dns"); return err }, "dns[0]"},
		{"protocol to wire", func() error { _, err := protoToPB(Proto(4), "proto"); return err }, "proto: unknown protocol 4"},
		{"filter source", func() error {
			_, err := filterFromPB(badFilter(func(r *pb.FilterRule) { r.Src = []string{"10.0.0.0/8", "x"} }))
			return err
		}, "rules[1].src[1]"},
		{"filter destination", func() error {
			_, err := filterFromPB(badFilter(func(r *pb.FilterRule) { r.Dst = []string{"10.0.0.1"} }))
			return err
		}, "rules[1].dst[0]"},
		{"filter protocol", func() error {
			_, err := filterFromPB(badFilter(func(r *pb.FilterRule) { r.Proto = pb.Proto(9) }))
			return err
		}, "rules[1].proto: unknown protocol 9"},
		{"filter first port", func() error {
			_, err := filterFromPB(badFilter(func(r *pb.FilterRule) { r.Ports = append(r.Ports, &pb.PortRange{First: 65536, Last: 65536}) }))
			return err
		}, "rules[1].ports[1].first: port 65536"},
		{"filter last port", func() error {
			_, err := filterFromPB(badFilter(func(r *pb.FilterRule) { r.Ports = append(r.Ports, &pb.PortRange{First: 1, Last: 70000}) }))
			return err
		}, "rules[1].ports[1].last: port 70000"},
		{"filter source to wire", func() error {
			_, err := filterToPB(Filter{Rules: []FilterRule{{Proto: ProtoAny}, {Src: make([]netip.Prefix, 1), Proto: ProtoAny}}})
			return err
		}, "rules[1].src[0]: invalid prefix"},
		{"filter destination to wire", func() error {
			_, err := filterToPB(Filter{Rules: []FilterRule{{Proto: ProtoAny}, {Dst: make([]netip.Prefix, 2), Proto: ProtoAny}}})
			return err
		}, "rules[1].dst[0]: invalid prefix"},
		{"filter protocol to wire", func() error {
			_, err := filterToPB(Filter{Rules: []FilterRule{{Proto: ProtoAny}, {Proto: Proto(7)}}})
			return err
		}, "rules[1].proto: unknown protocol 7"},
		{"time before 1678", func() error { _, err := timeToUnixNano(time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC), "t"); return err }, "t: time"},
		{"time after 2262", func() error { _, err := timeToUnixNano(time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC), "t"); return err }, "t: time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.convert()
			if CodeOf(err) != CodeInvalidArgument {
				t.Fatalf("got %v, want INVALID_ARGUMENT", err)
			}
			if !strings.Contains(err.Error(), tt.wantWhat) {
				t.Errorf("error %q does not contain %q", err, tt.wantWhat)
			}
		})
	}
}

// badFilter returns a filter of two valid rules, the second changed by
// spoil.
func badFilter(spoil func(*pb.FilterRule)) *pb.Filter {
	rule := func() *pb.FilterRule {
		return &pb.FilterRule{Src: []string{"10.0.0.0/8"}, Dst: []string{"100.64.0.1/32"}, Proto: pb.Proto(ProtoTCP),
			Ports: []*pb.PortRange{{First: 22, Last: 22}}}
	}
	f := &pb.Filter{Rules: []*pb.FilterRule{rule(), rule()}}
	spoil(f.Rules[1])
	return f
}

func TestConversionsKeepEdgeValues(t *testing.T) {
	t.Run("zero addr-port is empty text", func(t *testing.T) {
		s, err := addrPortToString(netip.AddrPort{}, "e")
		if err != nil || s != "" {
			t.Fatalf("got %q, %v; want empty", s, err)
		}
		ap, err := addrPortFromString("", "e")
		if err != nil || ap != (netip.AddrPort{}) {
			t.Fatalf("got %v, %v; want the zero value", ap, err)
		}
	})
	t.Run("zero time is 0", func(t *testing.T) {
		n, err := timeToUnixNano(time.Time{}, "t")
		if err != nil || n != 0 {
			t.Fatalf("got %d, %v; want 0", n, err)
		}
		if got := timeFromUnixNano(0); !got.IsZero() {
			t.Fatalf("got %v, want the zero time", got)
		}
	})
	t.Run("time range ends", func(t *testing.T) {
		for _, n := range []int64{math.MinInt64, -1, 1, math.MaxInt64} {
			got, err := timeToUnixNano(timeFromUnixNano(n), "t")
			if err != nil || got != n {
				t.Errorf("round trip of %d: got %d, %v", n, got, err)
			}
		}
	})
}
