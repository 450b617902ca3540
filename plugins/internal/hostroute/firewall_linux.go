package hostroute

import (
	"errors"
	"net/netip"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/rustynet/rustynet/hostapi"
)

// firewall is what the interface's nftables table should hold.
type firewall struct {
	iface   string                 // the mesh interface
	gateway *hostapi.GatewayConfig // nil: forward nothing from iface
	mark    uint32                 // non-zero: the tunnel's packets carry this mark (a default route is in place)
	filter  *packetFilter          // nil: no packet filter set yet
}

// packetFilter is a packet filter (hostapi.Backend.SetFilter) as the
// table's sets; no sets admit nothing.
type packetFilter struct {
	sets []*filterSet
}

// ctDirReply is IP_CT_DIR_REPLY (linux/netfilter/nf_conntrack_common.h):
// what ct direction loads for a packet going the way its connection's
// replies go.
const ctDirReply = 1

// filterChain is the regular chain holding a packet filter's rules, which
// the input and forward chains jump to.
const filterChain = "filter"

// chain is one chain of the table, in a form tests can read: a base chain
// on a hook, or a regular chain that rules jump to.
type chain struct {
	name     string
	regular  bool
	typ      nftables.ChainType
	hook     nftables.ChainHook
	priority nftables.ChainPriority
	rules    []rule
}

// rule is one nftables rule: every match that is set, then the verdict.
type rule struct {
	iif       string       // the input interface is this one
	oifNot    string       // the output interface is not this one
	udp       bool         // the transport protocol is UDP
	mark      uint32       // the packet's mark is this
	ctMark    uint32       // the connection's mark is this
	ctState   uint32       // the connection state is one of these (expr.CtStateBit*)
	ctReply   bool         // the packet goes in its connection's reply direction
	tcpNotSYN bool         // a TCP packet opens a connection (ct state new) without being a bare SYN
	daddr     netip.Prefix // the destination is in this prefix, which also selects the family
	lookup    *lookup      // the packet is in a filter set
	verdict   verdict
	target    string // the chain a jump goes to
}

type verdict uint8

const (
	accept      verdict = iota + 1
	drop                // drop the packet
	masquerade          // rewrite the source to the output interface's address
	saveMark            // ct mark set meta mark
	restoreMark         // meta mark set ct mark
	jump                // go through the chain target, then on
)

// excluded are the destinations an exit never forwards to: loopback,
// link-local, multicast and unspecified ("this network") addresses.
var excluded = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("224.0.0.0/4"),
	netip.MustParsePrefix("::/128"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("ff00::/8"),
}

// chains returns the table's chains for f: the forward guard always, the
// packet filter's input chain and rules with a filter, the masquerade with
// a masquerading gateway, and the mark's save and restore with a mark.
//
// Without a filter, the forward guard lets through what belongs to
// connections already passed (ct state established, related). With one,
// packets from the interface pass only in the reply direction of their
// connection — replies to connections opened from this side (the host's,
// or a host's behind it), and ICMP errors about them — or by the filter's
// rules, which every other packet meets, not only a connection's first:
// so a filter change cuts at once every connection a peer opened that the
// new rules do not admit, as the contract asks, and conntrack's own
// states never keep one open.
func (f firewall) chains() []chain {
	established := expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED
	fwd := chain{name: "forward", typ: nftables.ChainTypeFilter, hook: *nftables.ChainHookForward, priority: *nftables.ChainPriorityFilter}
	admit := rule{iif: f.iface, verdict: accept}
	if f.filter != nil {
		fwd.rules = append(fwd.rules, f.filterEntry()...)
		admit = rule{iif: f.iface, verdict: jump, target: filterChain}
	} else {
		fwd.rules = append(fwd.rules, rule{iif: f.iface, ctState: established, verdict: accept})
	}
	if f.gateway != nil {
		prefixes := slices.Clone(f.gateway.Prefixes)
		slices.SortFunc(prefixes, netip.Prefix.Compare)
		for _, x := range excluded {
			if slices.ContainsFunc(prefixes, func(p netip.Prefix) bool { return p.Addr().Is4() == x.Addr().Is4() }) {
				fwd.rules = append(fwd.rules, rule{iif: f.iface, daddr: x, verdict: drop})
			}
		}
		for _, p := range prefixes {
			to := admit
			to.daddr = p
			fwd.rules = append(fwd.rules, to)
		}
	}
	fwd.rules = append(fwd.rules, rule{iif: f.iface, verdict: drop})
	out := []chain{fwd}
	if f.filter != nil {
		in := chain{name: "input", typ: nftables.ChainTypeFilter, hook: *nftables.ChainHookInput, priority: *nftables.ChainPriorityFilter}
		in.rules = append(f.filterEntry(), admit, rule{iif: f.iface, verdict: drop})
		out = append(out, in, chain{name: filterChain, regular: true, rules: f.filter.rules()})
	}

	if f.gateway != nil && f.gateway.Masquerade {
		out = append(out, chain{
			name: "postrouting", typ: nftables.ChainTypeNAT, hook: *nftables.ChainHookPostrouting, priority: *nftables.ChainPriorityNATSource,
			rules: []rule{{iif: f.iface, oifNot: f.iface, verdict: masquerade}},
		})
	}
	if f.mark != 0 {
		// Replies to the tunnel's marked packets get the mark back before
		// routing, for the reverse-path filter (wg-quick does the same).
		out = append(out,
			chain{
				name: "premangle", typ: nftables.ChainTypeFilter, hook: *nftables.ChainHookPrerouting, priority: *nftables.ChainPriorityMangle,
				rules: []rule{{udp: true, ctMark: f.mark, verdict: restoreMark}},
			},
			chain{
				name: "postmangle", typ: nftables.ChainTypeFilter, hook: *nftables.ChainHookPostrouting, priority: *nftables.ChainPriorityMangle,
				rules: []rule{{udp: true, mark: f.mark, verdict: saveMark}},
			})
	}
	return out
}

// filterEntry are the first rules of the input and forward chains with a
// filter: what conntrack finds invalid is dropped, and what goes in the
// reply direction of its connection passes.
func (f firewall) filterEntry() []rule {
	return []rule{
		{iif: f.iface, ctState: expr.CtStateBitINVALID, verdict: drop},
		{iif: f.iface, ctReply: true, verdict: accept},
	}
}

// rules are the filter chain's: a TCP packet that would open a connection
// without being a bare SYN is dropped (conntrack would pick up a
// connection mid-stream); an ICMP error about a connection a peer opened
// passes if the rules admit that connection, as conntrack first saw it;
// any other packet passes if the rules admit it by its headers. What
// passes none returns to the calling chain, which drops it.
func (pf *packetFilter) rules() []rule {
	out := []rule{{tcpNotSYN: true, verdict: drop}}
	for _, s := range pf.sets {
		out = append(out, rule{ctState: expr.CtStateBitRELATED, lookup: &lookup{set: s, ct: true}, verdict: accept})
	}
	for _, s := range pf.sets {
		out = append(out, rule{lookup: &lookup{set: s}, verdict: accept})
	}
	return out
}

// exprs returns r as nftables expressions for a table of the inet family.
func (r rule) exprs() []expr.Any {
	var e []expr.Any
	cmp := func(op expr.CmpOp, data []byte) { e = append(e, &expr.Cmp{Op: op, Register: 1, Data: data}) }
	if r.iif != "" {
		e = append(e, &expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1})
		cmp(expr.CmpOpEq, ifname(r.iif))
	}
	if r.oifNot != "" {
		e = append(e, &expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1})
		cmp(expr.CmpOpNeq, ifname(r.oifNot))
	}
	if r.udp {
		e = append(e, &expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1})
		cmp(expr.CmpOpEq, []byte{unix.IPPROTO_UDP})
	}
	if r.mark != 0 {
		e = append(e, &expr.Meta{Key: expr.MetaKeyMARK, Register: 1})
		cmp(expr.CmpOpEq, binaryutil.NativeEndian.PutUint32(r.mark))
	}
	if r.ctMark != 0 {
		e = append(e, &expr.Ct{Key: expr.CtKeyMARK, Register: 1})
		cmp(expr.CmpOpEq, binaryutil.NativeEndian.PutUint32(r.ctMark))
	}
	if r.ctState != 0 {
		e = append(e,
			&expr.Ct{Key: expr.CtKeySTATE, Register: 1},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binaryutil.NativeEndian.PutUint32(r.ctState), Xor: make([]byte, 4)})
		cmp(expr.CmpOpNeq, make([]byte, 4))
	}
	if r.ctReply {
		e = append(e, &expr.Ct{Key: expr.CtKeyDIRECTION, Register: 1})
		cmp(expr.CmpOpEq, []byte{ctDirReply})
	}
	if r.tcpNotSYN {
		const flags = 0x01 | 0x02 | 0x04 | 0x10 // FIN, SYN, RST, ACK
		e = append(e, &expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1})
		cmp(expr.CmpOpEq, []byte{unix.IPPROTO_TCP})
		e = append(e,
			&expr.Ct{Key: expr.CtKeySTATE, Register: 1},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitNEW), Xor: make([]byte, 4)})
		cmp(expr.CmpOpNeq, make([]byte, 4))
		e = append(e,
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 13, Len: 1},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 1, Mask: []byte{flags}, Xor: []byte{0}})
		cmp(expr.CmpOpNeq, []byte{0x02})
	}
	if r.daddr.IsValid() {
		e = append(e, daddrExprs(r.daddr)...)
	}
	if r.lookup != nil {
		e = append(e, r.lookup.exprs()...)
	}
	switch r.verdict {
	case accept:
		e = append(e, &expr.Verdict{Kind: expr.VerdictAccept})
	case jump:
		e = append(e, &expr.Verdict{Kind: expr.VerdictJump, Chain: r.target})
	case drop:
		e = append(e, &expr.Verdict{Kind: expr.VerdictDrop})
	case masquerade:
		e = append(e, &expr.Masq{})
	case saveMark:
		e = append(e, &expr.Meta{Key: expr.MetaKeyMARK, Register: 1}, &expr.Ct{Key: expr.CtKeyMARK, Register: 1, SourceRegister: true})
	case restoreMark:
		e = append(e, &expr.Ct{Key: expr.CtKeyMARK, Register: 1}, &expr.Meta{Key: expr.MetaKeyMARK, Register: 1, SourceRegister: true})
	}
	return e
}

// daddrExprs matches packets of p's family whose destination is in p.
func daddrExprs(p netip.Prefix) []expr.Any {
	family, offset := byte(unix.NFPROTO_IPV4), uint32(16) // IPv4 header: daddr at 16
	if p.Addr().Is6() {
		family, offset = unix.NFPROTO_IPV6, 24 // IPv6 header: daddr at 24
	}
	e := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{family}},
	}
	if p.Bits() == 0 {
		return e // the whole family
	}
	size := uint32(p.Addr().BitLen() / 8)
	e = append(e, &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: size})
	if p.Bits() < p.Addr().BitLen() {
		mask := netip.PrefixFrom(allOnes(p.Addr().BitLen()), p.Bits()).Masked().Addr().AsSlice()
		e = append(e, &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: size, Mask: mask, Xor: make([]byte, size)})
	}
	return append(e, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: p.Masked().Addr().AsSlice()})
}

// allOnes is the address of bits length with every bit set.
func allOnes(bits int) netip.Addr {
	if bits == 32 {
		return netip.AddrFrom4([4]byte{255, 255, 255, 255})
	}
	var b [16]byte
	for i := range b {
		b[i] = 0xff
	}
	return netip.AddrFrom16(b)
}

// ifname is an interface name as nftables compares it: NUL-padded to
// IFNAMSIZ.
func ifname(name string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return b
}

// install replaces the interface's table with f's sets and chains in one
// transaction: the kernel applies all of it or nothing.
func (f firewall) install(c *nftables.Conn) error {
	t := &nftables.Table{Name: TableName(f.iface), Family: nftables.TableFamilyINet}
	// Adding first makes the deletion valid whether or not the table exists.
	c.AddTable(t)
	c.DelTable(t)
	c.AddTable(t)
	if f.filter != nil {
		if err := addSets(c, t, f.filter.sets); err != nil {
			return err
		}
	}
	policy := nftables.ChainPolicyAccept
	chains := f.chains()
	added := make([]*nftables.Chain, len(chains))
	for i, ch := range chains { // every chain before any rule: rules jump to them
		nc := &nftables.Chain{Name: ch.name, Table: t}
		if !ch.regular {
			nc.Type, nc.Hooknum, nc.Priority, nc.Policy = ch.typ, nftables.ChainHookRef(ch.hook), nftables.ChainPriorityRef(ch.priority), &policy
		}
		added[i] = c.AddChain(nc)
	}
	for i, ch := range chains {
		for _, r := range ch.rules {
			c.AddRule(&nftables.Rule{Table: t, Chain: added[i], Exprs: r.exprs()})
		}
	}
	return c.Flush()
}

// removeTable deletes the table of the interface called iface, if it
// exists.
func removeTable(c *nftables.Conn, iface string) error {
	t := &nftables.Table{Name: TableName(iface), Family: nftables.TableFamilyINet}
	c.AddTable(t)
	c.DelTable(t)
	return c.Flush()
}

// firewallError classifies a failure to install the table: missing
// privileges, or a kernel without nftables or one of the features the table
// uses (a module such as nf_tables, nft_ct, nft_chain_nat or nft_masq; sets
// of concatenated ranges, Linux 5.6, for a packet filter).
func firewallError(err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return hostapi.Errorf(hostapi.CodePermission, "nftables: %v (needs CAP_NET_ADMIN)", err)
	}
	return hostapi.Errorf(hostapi.CodeUnsupported, "nftables: %v (the kernel needs nf_tables, nft_ct, nft_chain_nat and nft_masq, and Linux 5.6 or later for a packet filter)", err)
}
