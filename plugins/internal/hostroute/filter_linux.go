package hostroute

import (
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/plugins/internal/packetfilter"
)

// MaxFilterElements bounds the nftables set elements a packet filter may
// take: what a filter admits, cut into disjoint boxes (packetfilter.Cells),
// is one element per source range of each box. A filter that needs more
// is refused (ErrInvalidArgument). A 1,000-rule filter of the kind a policy
// compiles to takes a few thousand.
const MaxFilterElements = 1 << 16

// elementsPerMessage is how many set elements go into one netlink message:
// a message's attributes hold at most 64 KiB, and an element of the
// largest set (two IPv6 addresses, a protocol and a port, as a range)
// takes about 120 bytes.
const elementsPerMessage = 256

// filterSet is one of the sets a packet filter's rules look up: what a
// filter admits of one kind and family, as concatenated ranges (nftables'
// pipapo sets, Linux 5.6 and later). Every key begins with the source and
// destination address.
type filterSet struct {
	name string
	kind setKind
	v6   bool
	// elements, start and end keys padded as nftables concatenations
	// are: each field to a multiple of 4 bytes.
	elements []nftables.SetElement
}

// setKind is what a filter set holds.
type setKind uint8

const (
	setPorts setKind = iota + 1 // TCP and UDP to ports: source . destination . protocol . port
	setProto                    // TCP and UDP to every port: source . destination . protocol
	setEcho                     // ICMP echo requests: source . destination
	setOther                    // every other protocol: source . destination
)

var setNames = map[setKind]string{setPorts: "ports", setProto: "proto", setEcho: "echo", setOther: "other"}

// keyType returns the set's key type.
func (s *filterSet) keyType() nftables.SetDatatype {
	addr := nftables.TypeIPAddr
	if s.v6 {
		addr = nftables.TypeIP6Addr
	}
	switch s.kind {
	case setPorts:
		return nftables.MustConcatSetType(addr, addr, nftables.TypeInetProto, nftables.TypeInetService)
	case setProto:
		return nftables.MustConcatSetType(addr, addr, nftables.TypeInetProto)
	}
	return nftables.MustConcatSetType(addr, addr)
}

// filterSets compiles f into the sets of the interface's table, only those
// with elements, in a fixed order. It fails with ErrInvalidArgument for an
// invalid filter or one beyond MaxFilterElements.
func filterSets(f hostapi.Filter) ([]*filterSet, error) {
	cells, err := packetfilter.Cells(f, MaxFilterElements)
	if err != nil {
		return nil, err
	}
	byKey := map[[2]uint8]*filterSet{}
	var order []*filterSet
	for _, v6 := range []bool{false, true} {
		for _, kind := range []setKind{setPorts, setProto, setEcho, setOther} {
			s := &filterSet{name: setNames[kind] + "4", kind: kind, v6: v6}
			if v6 {
				s.name = setNames[kind] + "6"
			}
			byKey[[2]uint8{uint8(kind), b2u(v6)}] = s
			order = append(order, s)
		}
	}
	for _, c := range cells {
		kind, proto := cellKind(c)
		s := byKey[[2]uint8{uint8(kind), b2u(c.Dst.First.Is6())}]
		for _, src := range c.Src {
			start := append(field(src.First), field(c.Dst.First)...)
			end := append(field(src.Last), field(c.Dst.Last)...)
			if kind == setPorts || kind == setProto {
				start, end = append(start, proto, 0, 0, 0), append(end, proto, 0, 0, 0)
			}
			if kind == setPorts {
				start = append(start, byte(c.Ports.First>>8), byte(c.Ports.First), 0, 0)
				end = append(end, byte(c.Ports.Last>>8), byte(c.Ports.Last), 0, 0)
			}
			s.elements = append(s.elements, nftables.SetElement{Key: start, KeyEnd: end})
		}
	}
	var out []*filterSet
	for _, s := range order {
		if len(s.elements) > 0 {
			out = append(out, s)
		}
	}
	return out, nil
}

// cellKind returns the set a cell goes into, and its IP protocol (TCP and
// UDP).
func cellKind(c packetfilter.Cell) (setKind, byte) {
	switch c.Kind {
	case packetfilter.KindTCP, packetfilter.KindUDP:
		proto := byte(unix.IPPROTO_TCP)
		if c.Kind == packetfilter.KindUDP {
			proto = unix.IPPROTO_UDP
		}
		if c.AnyPort {
			return setProto, proto
		}
		return setPorts, proto
	case packetfilter.KindICMPEcho:
		return setEcho, 0
	}
	return setOther, 0
}

// field is an address as a concatenation field.
func field(a netip.Addr) []byte { return a.AsSlice() }

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// lookup matches packets against a filter set: by their headers, or, for
// ICMP errors (ct state related), by the connection they are about, as
// conntrack first saw it.
type lookup struct {
	set *filterSet
	ct  bool
}

// Registers of a concatenation's fields: nftables numbers 32-bit registers
// from NFT_REG32_00, which shares its bytes with the 128-bit NFT_REG_1.
const (
	reg1   = unix.NFT_REG_1
	reg32  = unix.NFT_REG32_00
	regLen = 4
)

// exprs returns the expressions that load the key of l's set into the
// registers, check what the key does not hold (the protocols of the echo
// and other sets), and look it up.
func (l lookup) exprs() []expr.Any {
	s := l.set
	family, saddr, daddr, width := byte(unix.NFPROTO_IPV4), uint32(12), uint32(16), uint32(4)
	icmp, echo := byte(unix.IPPROTO_ICMP), byte(8)
	if s.v6 {
		family, saddr, daddr, width = unix.NFPROTO_IPV6, 8, 24, 16
		icmp, echo = unix.IPPROTO_ICMPV6, 128
	}
	// Field i of the key starts in 32-bit register base+offset(i).
	dst := uint32(reg32 + width/regLen) // after the source
	proto := dst + width/regLen
	e := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{family}},
	}
	// The protocol, loaded into a scratch register for the kinds whose key
	// does not hold it.
	protoLoad := expr.Any(&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1})
	if l.ct {
		protoLoad = &expr.Ct{Key: expr.CtKeyPROTOCOL, Register: 1}
	}
	switch s.kind {
	case setEcho:
		e = append(e, protoLoad, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{icmp}})
		if !l.ct {
			e = append(e,
				&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{echo}})
		}
	case setOther:
		e = append(e, protoLoad)
		for _, p := range []byte{unix.IPPROTO_TCP, unix.IPPROTO_UDP, icmp} {
			e = append(e, &expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{p}})
		}
	}
	if l.ct {
		// Loaded in order, each overwriting what the one before may have
		// left in the next registers (an address is declared 16 bytes in
		// an inet table, whatever the family). Direction 0 is the
		// original one; google/nftables sends NFTA_CT_DIRECTION in four
		// bytes where the kernel reads one, the first, which is right
		// for 0 only.
		e = append(e,
			&expr.Ct{Key: expr.CtKeySRC, Register: reg32, Direction: 0},
			&expr.Ct{Key: expr.CtKeyDST, Register: dst, Direction: 0})
		if s.kind == setPorts || s.kind == setProto {
			e = append(e, &expr.Ct{Key: expr.CtKeyPROTOCOL, Register: proto})
		}
		if s.kind == setPorts {
			// The port is 2 bytes of a 4-byte field: clear the field first.
			e = append(e,
				&expr.Immediate{Register: proto + 1, Data: make([]byte, regLen)},
				&expr.Ct{Key: expr.CtKeyPROTODST, Register: proto + 1, Direction: 0})
		}
	} else {
		e = append(e,
			&expr.Payload{DestRegister: reg32, Base: expr.PayloadBaseNetworkHeader, Offset: saddr, Len: width},
			&expr.Payload{DestRegister: dst, Base: expr.PayloadBaseNetworkHeader, Offset: daddr, Len: width})
		if s.kind == setPorts || s.kind == setProto {
			e = append(e, &expr.Meta{Key: expr.MetaKeyL4PROTO, Register: proto})
		}
		if s.kind == setPorts {
			e = append(e, &expr.Payload{DestRegister: proto + 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2})
		}
	}
	return append(e, &expr.Lookup{SourceRegister: reg1, SetName: s.name})
}

// addSets adds the filter's sets with their elements to table t, in
// messages of elementsPerMessage elements.
func addSets(c *nftables.Conn, t *nftables.Table, sets []*filterSet) error {
	for _, s := range sets {
		set := &nftables.Set{Table: t, Name: s.name, KeyType: s.keyType(), Interval: true, Concatenation: true}
		if err := c.AddSet(set, nil); err != nil {
			return err
		}
		for i := 0; i < len(s.elements); i += elementsPerMessage {
			if err := c.SetAddElements(set, s.elements[i:min(i+elementsPerMessage, len(s.elements))]); err != nil {
				return err
			}
		}
	}
	return nil
}

// bufferFor returns socket options that make room for a transaction with
// sets of that many elements: the kernel takes a transaction in one
// sendmsg, which must fit the socket's send buffer, and may answer an
// error with the message it refuses. CAP_NET_ADMIN may exceed the
// system's limits (SO_SNDBUFFORCE), which the backends hold anyway.
func bufferFor(sets []*filterSet) []nftables.ConnOption {
	n := 0
	for _, s := range sets {
		n += len(s.elements)
	}
	if n == 0 {
		return nil
	}
	size := 1<<20 + n*160
	return []nftables.ConnOption{nftables.WithSockOptions(func(c *netlink.Conn) error {
		rc, err := c.SyscallConn()
		if err != nil {
			return err
		}
		var serr error
		err = rc.Control(func(fd uintptr) {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, size); serr != nil {
				return
			}
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size)
		})
		if err != nil {
			return err
		}
		return serr
	})}
}
