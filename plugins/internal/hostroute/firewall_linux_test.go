package hostroute

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/rustynet/rustynet/hostapi"
)

var ruleCmp = cmp.Options{cmp.AllowUnexported(chain{}, rule{}), prefixCmp}

func TestFirewallChains(t *testing.T) {
	const wg = "wg0"
	est := expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED
	forward := func(rules ...rule) chain {
		return chain{name: "forward", typ: nftables.ChainTypeFilter, hook: *nftables.ChainHookForward, priority: *nftables.ChainPriorityFilter,
			rules: append(append([]rule{{iif: wg, ctState: est, verdict: accept}}, rules...), rule{iif: wg, verdict: drop})}
	}
	nat := chain{name: "postrouting", typ: nftables.ChainTypeNAT, hook: *nftables.ChainHookPostrouting, priority: *nftables.ChainPriorityNATSource,
		rules: []rule{{iif: wg, oifNot: wg, verdict: masquerade}}}
	mangle := []chain{
		{name: "premangle", typ: nftables.ChainTypeFilter, hook: *nftables.ChainHookPrerouting, priority: *nftables.ChainPriorityMangle,
			rules: []rule{{udp: true, ctMark: 0x52000007, verdict: restoreMark}}},
		{name: "postmangle", typ: nftables.ChainTypeFilter, hook: *nftables.ChainHookPostrouting, priority: *nftables.ChainPriorityMangle,
			rules: []rule{{udp: true, mark: 0x52000007, verdict: saveMark}}},
	}
	dropTo := func(ps ...string) []rule {
		var out []rule
		for _, p := range pfx(ps...) {
			out = append(out, rule{iif: wg, daddr: p, verdict: drop})
		}
		return out
	}
	acceptTo := func(ps ...string) []rule {
		var out []rule
		for _, p := range pfx(ps...) {
			out = append(out, rule{iif: wg, daddr: p, verdict: accept})
		}
		return out
	}
	v4excluded := []string{"0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4"}
	v6excluded := []string{"::/128", "::1/128", "fe80::/10", "ff00::/8"}
	tests := []struct {
		name string
		f    firewall
		want []chain
	}{
		{"no gateway: the guard", firewall{iface: wg}, []chain{forward()}},
		{"router without masquerade", firewall{iface: wg, gateway: &hostapi.GatewayConfig{Prefixes: pfx("10.20.0.0/24")}},
			[]chain{forward(append(dropTo(v4excluded...), acceptTo("10.20.0.0/24")...)...)}},
		{"router with masquerade, prefixes sorted", firewall{iface: wg, gateway: &hostapi.GatewayConfig{Prefixes: pfx("10.30.0.0/16", "10.20.0.0/24"), Masquerade: true}},
			[]chain{forward(append(dropTo(v4excluded...), acceptTo("10.20.0.0/24", "10.30.0.0/16")...)...), nat}},
		{"exit", firewall{iface: wg, gateway: &hostapi.GatewayConfig{Prefixes: pfx("::/0", "0.0.0.0/0"), Masquerade: true}},
			[]chain{forward(append(dropTo(append(v4excluded, v6excluded...)...), acceptTo("0.0.0.0/0", "::/0")...)...), nat}},
		{"IPv6 router", firewall{iface: wg, gateway: &hostapi.GatewayConfig{Prefixes: pfx("fd00:20::/64")}},
			[]chain{forward(append(dropTo(v6excluded...), acceptTo("fd00:20::/64")...)...)}},
		{"gateway without prefixes forwards nothing", firewall{iface: wg, gateway: &hostapi.GatewayConfig{}}, []chain{forward()}},
		{"default route", firewall{iface: wg, mark: 0x52000007}, append([]chain{forward()}, mangle...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.f.chains(), ruleCmp); diff != "" {
				t.Errorf("chains (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRuleExprs(t *testing.T) {
	wg := ifname("wg0")
	nfproto := func(f byte) []expr.Any {
		return []expr.Any{&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{f}}}
	}
	iif := []expr.Any{&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: wg}}
	cat := func(parts ...[]expr.Any) []expr.Any {
		var out []expr.Any
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name string
		r    rule
		want []expr.Any
	}{
		{"drop from the interface", rule{iif: "wg0", verdict: drop}, cat(iif, []expr.Any{&expr.Verdict{Kind: expr.VerdictDrop}})},
		{"IPv4 /24", rule{daddr: netip.MustParsePrefix("10.20.0.0/24"), verdict: accept}, cat(nfproto(unix.NFPROTO_IPV4), []expr.Any{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: []byte{255, 255, 255, 0}, Xor: []byte{0, 0, 0, 0}},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{10, 20, 0, 0}},
			&expr.Verdict{Kind: expr.VerdictAccept},
		})},
		{"IPv4 host: no mask", rule{daddr: netip.MustParsePrefix("10.20.0.5/32"), verdict: accept}, cat(nfproto(unix.NFPROTO_IPV4), []expr.Any{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{10, 20, 0, 5}},
			&expr.Verdict{Kind: expr.VerdictAccept},
		})},
		{"IPv4 default: the family only", rule{daddr: netip.MustParsePrefix("0.0.0.0/0"), verdict: accept},
			cat(nfproto(unix.NFPROTO_IPV4), []expr.Any{&expr.Verdict{Kind: expr.VerdictAccept}})},
		{"IPv6 /10", rule{daddr: netip.MustParsePrefix("fe80::/10"), verdict: drop}, cat(nfproto(unix.NFPROTO_IPV6), []expr.Any{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 24, Len: 16},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 16, Mask: append([]byte{0xff, 0xc0}, make([]byte, 14)...), Xor: make([]byte, 16)},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: append([]byte{0xfe, 0x80}, make([]byte, 14)...)},
			&expr.Verdict{Kind: expr.VerdictDrop},
		})},
		{"established", rule{iif: "wg0", ctState: expr.CtStateBitESTABLISHED, verdict: accept}, cat(iif, []expr.Any{
			&expr.Ct{Key: expr.CtKeySTATE, Register: 1},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitESTABLISHED), Xor: make([]byte, 4)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
			&expr.Verdict{Kind: expr.VerdictAccept},
		})},
		{"masquerade out of other interfaces", rule{iif: "wg0", oifNot: "wg0", verdict: masquerade}, cat(iif, []expr.Any{
			&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: wg},
			&expr.Masq{},
		})},
		{"save the mark", rule{udp: true, mark: 7, verdict: saveMark}, []expr.Any{
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_UDP}},
			&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(7)},
			&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
			&expr.Ct{Key: expr.CtKeyMARK, Register: 1, SourceRegister: true},
		}},
		{"restore the mark", rule{udp: true, ctMark: 7, verdict: restoreMark}, []expr.Any{
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_UDP}},
			&expr.Ct{Key: expr.CtKeyMARK, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(7)},
			&expr.Ct{Key: expr.CtKeyMARK, Register: 1},
			&expr.Meta{Key: expr.MetaKeyMARK, Register: 1, SourceRegister: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.r.exprs()); diff != "" {
				t.Errorf("exprs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIfname(t *testing.T) {
	got := ifname("wg0")
	if len(got) != unix.IFNAMSIZ || string(got[:4]) != "wg0\x00" {
		t.Errorf("ifname: got %q, want wg0 NUL-padded to %d bytes", got, unix.IFNAMSIZ)
	}
}
