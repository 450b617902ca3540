package hostapi

import (
	"fmt"
	"testing"

	"github.com/rustynet/rustynet/hostapi/internal/pb"
)

// BenchmarkFilterFromPB converts a filter of 1,000 rules from its wire
// form, as a backend plugin does on every policy change.
func BenchmarkFilterFromPB(b *testing.B) {
	m := &pb.Filter{}
	for i := range 1000 {
		m.Rules = append(m.Rules, &pb.FilterRule{Src: []string{fmt.Sprintf("100.64.%d.%d/32", i/256, i%256)}, Dst: []string{"100.64.0.1/32"},
			Proto: pb.Proto(ProtoTCP), Ports: []*pb.PortRange{{First: uint32(1000 + i), Last: uint32(1000 + i)}}})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := filterFromPB(m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFilterToPB converts a filter of 1,000 rules to its wire form,
// as the daemon does on every policy change.
func BenchmarkFilterToPB(b *testing.B) {
	m := &pb.Filter{}
	for i := range 1000 {
		m.Rules = append(m.Rules, &pb.FilterRule{Src: []string{fmt.Sprintf("100.64.%d.%d/32", i/256, i%256)}, Dst: []string{"100.64.0.1/32"},
			Proto: pb.Proto(ProtoTCP), Ports: []*pb.PortRange{{First: uint32(1000 + i), Last: uint32(1000 + i)}}})
	}
	f, err := filterFromPB(m)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := filterToPB(f); err != nil {
			b.Fatal(err)
		}
	}
}
