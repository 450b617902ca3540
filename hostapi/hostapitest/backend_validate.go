package hostapitest

import (
	"net/netip"

	"github.com/rustynet/rustynet/hostapi"
)

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

// validListener accepts the zero value (off) or an address and port to
// listen on (an unspecified address listens on all).
func validListener(ap netip.AddrPort) bool {
	return ap == (netip.AddrPort{}) || (ap.IsValid() && ap.Port() != 0)
}

func validProxy(p hostapi.ProxyConfig) error {
	if !validListener(p.SOCKS5) || !validListener(p.HTTP) {
		return hostapi.Errorf(hostapi.CodeInvalidArgument, "invalid proxy listener (SOCKS5 %s, HTTP %s)", p.SOCKS5, p.HTTP)
	}
	for _, f := range p.Forwards {
		if f.Proto != hostapi.ProtoTCP && f.Proto != hostapi.ProtoUDP {
			return hostapi.Errorf(hostapi.CodeInvalidArgument, "forward %s: protocol must be TCP or UDP", f.Listen)
		}
		target := usable(f.Target)
		if f.TargetHost != "" {
			target = hostapi.CheckHostName(f.TargetHost) == nil && f.Target.Port() != 0 && !f.Target.Addr().IsValid()
		}
		if f.Listen == (netip.AddrPort{}) || !validListener(f.Listen) || !target {
			return hostapi.Errorf(hostapi.CodeInvalidArgument, "forward %s → %s: invalid address", f.Listen, f.Destination())
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
	if p.Auth != nil {
		if err := hostapi.CheckProxyAuth(*p.Auth); err != nil {
			return err
		}
	}
	for _, h := range p.Hosts {
		if err := hostapi.CheckHostName(h.Name); err != nil {
			return err
		}
		if len(h.Addrs) == 0 {
			return hostapi.Errorf(hostapi.CodeInvalidArgument, "host %s has no address", h.Name)
		}
	}
	if p.Domain != "" {
		return hostapi.CheckHostName(p.Domain)
	}
	return nil
}
