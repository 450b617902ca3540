package hostapitest

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"github.com/rustynet/rustynet/hostapi"
)

// maxKeepalive is WireGuard's largest persistent keepalive interval.
const maxKeepalive = 65535 * time.Second

func validPrefixes(ps []netip.Prefix, what string) error {
	for _, p := range ps {
		if !p.IsValid() {
			return hostapi.Errorf(hostapi.CodeInvalidArgument, "invalid %s %s", what, p)
		}
	}
	return nil
}

// usable reports whether ap is an address and port a packet can be sent to.
func usable(ap netip.AddrPort) bool {
	return ap.IsValid() && ap.Port() != 0 && !ap.Addr().IsUnspecified()
}

// validEndpoint accepts the zero value (none) or a usable address and port.
func validEndpoint(ap netip.AddrPort) bool {
	return ap == (netip.AddrPort{}) || usable(ap)
}

// validListener accepts the zero value (off) or an address and port to
// listen on (an unspecified address listens on all).
func validListener(ap netip.AddrPort) bool {
	return ap == (netip.AddrPort{}) || (ap.IsValid() && ap.Port() != 0)
}

func validPeer(p hostapi.PeerConfig) error {
	if p.PublicKey.IsZero() {
		return hostapi.Errorf(hostapi.CodeInvalidArgument, "peer with a zero public key")
	}
	if !validEndpoint(p.Endpoint) {
		return hostapi.Errorf(hostapi.CodeInvalidArgument, "peer %s: invalid endpoint %s", p.PublicKey, p.Endpoint)
	}
	if err := validPrefixes(p.AllowedIPs, "allowed IP of peer "+p.PublicKey.String()+":"); err != nil {
		return err
	}
	ka := p.PersistentKeepalive
	if ka < 0 || ka > maxKeepalive || ka%time.Second != 0 {
		return hostapi.Errorf(hostapi.CodeInvalidArgument, "peer %s: keepalive %s is not 0 to 65535 whole seconds", p.PublicKey, ka)
	}
	return nil
}

func validProxy(p hostapi.ProxyConfig) error {
	if !validListener(p.SOCKS5) || !validListener(p.HTTP) {
		return hostapi.Errorf(hostapi.CodeInvalidArgument, "invalid proxy listener (SOCKS5 %s, HTTP %s)", p.SOCKS5, p.HTTP)
	}
	for _, f := range p.Forwards {
		if f.Proto != hostapi.ProtoTCP && f.Proto != hostapi.ProtoUDP {
			return hostapi.Errorf(hostapi.CodeInvalidArgument, "forward %s: protocol must be TCP or UDP", f.Listen)
		}
		if f.Listen == (netip.AddrPort{}) || !validListener(f.Listen) || !usable(f.Target) {
			return hostapi.Errorf(hostapi.CodeInvalidArgument, "forward %s → %s: invalid address", f.Listen, f.Target)
		}
	}
	for _, e := range p.Exposes {
		if e.Proto != hostapi.ProtoTCP && e.Proto != hostapi.ProtoUDP {
			return hostapi.Errorf(hostapi.CodeInvalidArgument, "expose %d: protocol must be TCP or UDP", e.MeshPort)
		}
		if e.MeshPort == 0 || !usable(e.Target) {
			return hostapi.Errorf(hostapi.CodeInvalidArgument, "expose %d → %s: invalid port or target", e.MeshPort, e.Target)
		}
	}
	for _, a := range p.DNS {
		if !a.IsValid() {
			return hostapi.Errorf(hostapi.CodeInvalidArgument, "invalid DNS server address")
		}
	}
	return nil
}

func validRule(r hostapi.FilterRule) error {
	if err := validPrefixes(r.Src, "filter source"); err != nil {
		return err
	}
	if err := validPrefixes(r.Dst, "filter destination"); err != nil {
		return err
	}
	if r.Proto > hostapi.ProtoICMP {
		return hostapi.Errorf(hostapi.CodeInvalidArgument, "unknown filter protocol %d", r.Proto)
	}
	for _, pr := range r.Ports {
		if pr.First > pr.Last {
			return hostapi.Errorf(hostapi.CodeInvalidArgument, "port range %d-%d is empty", pr.First, pr.Last)
		}
	}
	return nil
}

// ownedPrefix is an allowed IP and the peer it routes to.
type ownedPrefix struct {
	p     netip.Prefix // masked
	owner hostapi.Key
}

// checkOverlaps fails if allowed IPs of two different peers overlap. It
// sorts every prefix by address, then by length, and sweeps them keeping the
// chain of prefixes that contain the current one, in O(n log n).
func checkOverlaps(peers map[hostapi.Key]*hostapi.PeerState) error {
	var all []ownedPrefix
	for k, p := range peers {
		for _, pr := range p.AllowedIPs {
			all = append(all, ownedPrefix{p: pr.Masked(), owner: k})
		}
	}
	slices.SortFunc(all, func(x, y ownedPrefix) int {
		if c := x.p.Addr().Compare(y.p.Addr()); c != 0 {
			return c
		}
		return cmp.Compare(x.p.Bits(), y.p.Bits())
	})
	var chain []ownedPrefix
	for _, cur := range all {
		for len(chain) > 0 && !contains(chain[len(chain)-1].p, cur.p) {
			chain = chain[:len(chain)-1]
		}
		for _, outer := range chain {
			if outer.owner != cur.owner {
				return hostapi.Errorf(hostapi.CodeInvalidArgument, "allowed IP %s of peer %s overlaps %s of peer %s", cur.p, cur.owner, outer.p, outer.owner)
			}
		}
		chain = append(chain, cur)
	}
	return nil
}

// contains reports whether masked prefix outer contains masked prefix inner.
func contains(outer, inner netip.Prefix) bool {
	return outer.Bits() <= inner.Bits() && outer.Contains(inner.Addr())
}
