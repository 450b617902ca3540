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
}

// chain is one base chain of the table, in a form tests can read.
type chain struct {
	name     string
	typ      nftables.ChainType
	hook     nftables.ChainHook
	priority nftables.ChainPriority
	rules    []rule
}

// rule is one nftables rule: every match that is set, then the verdict.
type rule struct {
	iif     string       // the input interface is this one
	oifNot  string       // the output interface is not this one
	udp     bool         // the transport protocol is UDP
	mark    uint32       // the packet's mark is this
	ctMark  uint32       // the connection's mark is this
	ctState uint32       // the connection state is one of these (expr.CtStateBit*)
	daddr   netip.Prefix // the destination is in this prefix, which also selects the family
	verdict verdict
}

type verdict uint8

const (
	accept      verdict = iota + 1
	drop                // drop the packet
	masquerade          // rewrite the source to the output interface's address
	saveMark            // ct mark set meta mark
	restoreMark         // meta mark set ct mark
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
// masquerade with a masquerading gateway, and the mark's save and restore
// with a mark.
func (f firewall) chains() []chain {
	established := expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED
	fwd := chain{name: "forward", typ: nftables.ChainTypeFilter, hook: *nftables.ChainHookForward, priority: *nftables.ChainPriorityFilter}
	fwd.rules = append(fwd.rules, rule{iif: f.iface, ctState: established, verdict: accept})
	if f.gateway != nil {
		prefixes := slices.Clone(f.gateway.Prefixes)
		slices.SortFunc(prefixes, netip.Prefix.Compare)
		for _, x := range excluded {
			if slices.ContainsFunc(prefixes, func(p netip.Prefix) bool { return p.Addr().Is4() == x.Addr().Is4() }) {
				fwd.rules = append(fwd.rules, rule{iif: f.iface, daddr: x, verdict: drop})
			}
		}
		for _, p := range prefixes {
			fwd.rules = append(fwd.rules, rule{iif: f.iface, daddr: p, verdict: accept})
		}
	}
	fwd.rules = append(fwd.rules, rule{iif: f.iface, verdict: drop})
	out := []chain{fwd}

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
	if r.daddr.IsValid() {
		e = append(e, daddrExprs(r.daddr)...)
	}
	switch r.verdict {
	case accept:
		e = append(e, &expr.Verdict{Kind: expr.VerdictAccept})
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

// install replaces the interface's table with f's chains in one
// transaction: the kernel applies all of it or nothing.
func (f firewall) install(c *nftables.Conn) error {
	t := &nftables.Table{Name: TableName(f.iface), Family: nftables.TableFamilyINet}
	// Adding first makes the deletion valid whether or not the table exists.
	c.AddTable(t)
	c.DelTable(t)
	c.AddTable(t)
	policy := nftables.ChainPolicyAccept
	for _, ch := range f.chains() {
		nc := c.AddChain(&nftables.Chain{
			Name: ch.name, Table: t, Type: ch.typ,
			Hooknum: nftables.ChainHookRef(ch.hook), Priority: nftables.ChainPriorityRef(ch.priority), Policy: &policy,
		})
		for _, r := range ch.rules {
			c.AddRule(&nftables.Rule{Table: t, Chain: nc, Exprs: r.exprs()})
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
// uses (a module such as nf_tables, nft_ct, nft_chain_nat or nft_masq).
func firewallError(err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return hostapi.Errorf(hostapi.CodePermission, "nftables: %v (needs CAP_NET_ADMIN)", err)
	}
	return hostapi.Errorf(hostapi.CodeUnsupported, "nftables: %v (the kernel needs nf_tables, nft_ct, nft_chain_nat and nft_masq)", err)
}
