package hostapi

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/rustynet/rustynet/hostapi/internal/pb"
)

func backendInfoToPB(i BackendInfo) *pb.BackendInfo {
	return &pb.BackendInfo{
		Name:         i.Name,
		Version:      i.Version,
		Capabilities: uint64(i.Capabilities),
		Privileges: &pb.Privileges{
			Root:         i.Privileges.Root,
			Tun:          i.Privileges.TUN,
			KernelModule: i.Privileges.KernelModule,
		},
	}
}

func backendInfoFromPB(m *pb.BackendInfo) BackendInfo {
	return BackendInfo{
		Name:         m.GetName(),
		Version:      m.GetVersion(),
		Capabilities: BackendCapabilities(m.GetCapabilities()),
		Privileges: Privileges{
			Root:         m.GetPrivileges().GetRoot(),
			TUN:          m.GetPrivileges().GetTun(),
			KernelModule: m.GetPrivileges().GetKernelModule(),
		},
	}
}

func interfaceConfigToPB(c InterfaceConfig) (*pb.InterfaceConfig, error) {
	addrs, err := prefixesToStrings(c.Addresses, "addresses")
	if err != nil {
		return nil, err
	}
	m := &pb.InterfaceConfig{
		Name:       c.Name,
		PrivateKey: c.PrivateKey[:],
		ListenPort: uint32(c.ListenPort),
		Addresses:  addrs,
		Mtu:        int64(c.MTU),
		Uapi:       c.UAPI,
	}
	if c.Proxy != nil {
		if m.Proxy, err = proxyConfigToPB(*c.Proxy); err != nil {
			return nil, err
		}
	}
	if g := c.Gateway; g != nil {
		m.Gateway = &pb.GatewayConfig{Masquerade: g.Masquerade}
		if m.Gateway.Prefixes, err = prefixesToStrings(g.Prefixes, "gateway.prefixes"); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func interfaceConfigFromPB(m *pb.InterfaceConfig) (InterfaceConfig, error) {
	var c InterfaceConfig
	var err error
	c.Name = m.GetName()
	if c.PrivateKey, err = privateKeyFromBytes(m.GetPrivateKey(), "private_key"); err != nil {
		return InterfaceConfig{}, err
	}
	if c.ListenPort, err = portFromUint32(m.GetListenPort(), "listen_port"); err != nil {
		return InterfaceConfig{}, err
	}
	if c.Addresses, err = prefixesFromStrings(m.GetAddresses(), "addresses"); err != nil {
		return InterfaceConfig{}, err
	}
	if c.MTU, err = intFromInt64(m.GetMtu(), "mtu"); err != nil {
		return InterfaceConfig{}, err
	}
	if m.GetProxy() != nil {
		p, err := proxyConfigFromPB(m.GetProxy())
		if err != nil {
			return InterfaceConfig{}, err
		}
		c.Proxy = &p
	}
	c.UAPI = m.GetUapi()
	if g := m.GetGateway(); g != nil {
		gw := GatewayConfig{Masquerade: g.GetMasquerade()}
		if gw.Prefixes, err = prefixesFromStrings(g.GetPrefixes(), "gateway.prefixes"); err != nil {
			return InterfaceConfig{}, err
		}
		c.Gateway = &gw
	}
	return c, nil
}

func routeChangesToPB(c RouteChanges) (*pb.RouteChanges, error) {
	var m pb.RouteChanges
	var err error
	if m.Remove, err = prefixesToStrings(c.Remove, "remove"); err != nil {
		return nil, err
	}
	if m.Add, err = prefixesToStrings(c.Add, "add"); err != nil {
		return nil, err
	}
	return &m, nil
}

func routeChangesFromPB(m *pb.RouteChanges) (RouteChanges, error) {
	var c RouteChanges
	var err error
	if c.Remove, err = prefixesFromStrings(m.GetRemove(), "remove"); err != nil {
		return RouteChanges{}, err
	}
	if c.Add, err = prefixesFromStrings(m.GetAdd(), "add"); err != nil {
		return RouteChanges{}, err
	}
	return c, nil
}

func proxyConfigToPB(p ProxyConfig) (*pb.ProxyConfig, error) {
	var m pb.ProxyConfig
	var err error
	if m.Socks5, err = addrPortToString(p.SOCKS5, "proxy.socks5"); err != nil {
		return nil, err
	}
	if m.Http, err = addrPortToString(p.HTTP, "proxy.http"); err != nil {
		return nil, err
	}
	for i, f := range p.Forwards {
		what := fmt.Sprintf("proxy.forwards[%d]", i)
		var fm pb.Forward
		if fm.Proto, err = protoToPB(f.Proto, what+".proto"); err != nil {
			return nil, err
		}
		if fm.Listen, err = addrPortToString(f.Listen, what+".listen"); err != nil {
			return nil, err
		}
		if f.TargetHost != "" {
			fm.TargetHost = f.Destination()
		} else if fm.Target, err = addrPortToString(f.Target, what+".target"); err != nil {
			return nil, err
		}
		m.Forwards = append(m.Forwards, &fm)
	}
	for i, e := range p.Exposes {
		what := fmt.Sprintf("proxy.exposes[%d]", i)
		em := pb.Expose{MeshPort: uint32(e.MeshPort)}
		if em.Proto, err = protoToPB(e.Proto, what+".proto"); err != nil {
			return nil, err
		}
		if em.Target, err = addrPortToString(e.Target, what+".target"); err != nil {
			return nil, err
		}
		m.Exposes = append(m.Exposes, &em)
	}
	if m.Dns, err = addrsToStrings(p.DNS, "proxy.dns"); err != nil {
		return nil, err
	}
	if ms := p.MeshService; ms != nil {
		m.MeshService = &pb.MeshService{Port: uint32(ms.Port), Accept: ms.Accept, Dial: ms.Dial}
	}
	if a := p.Auth; a != nil {
		m.Auth = &pb.ProxyAuth{Username: a.Username, Password: a.Password}
	}
	if len(p.Hosts) > 0 {
		m.Hosts = make([]*pb.Host, len(p.Hosts))
		for i, h := range p.Hosts {
			hm := &pb.Host{Name: h.Name}
			if hm.Addrs, err = addrsToStrings(h.Addrs, fmt.Sprintf("proxy.hosts[%d].addrs", i)); err != nil {
				return nil, err
			}
			m.Hosts[i] = hm
		}
	}
	m.Domain = p.Domain
	return &m, nil
}

func proxyConfigFromPB(m *pb.ProxyConfig) (ProxyConfig, error) {
	var p ProxyConfig
	var err error
	if p.SOCKS5, err = addrPortFromString(m.GetSocks5(), "proxy.socks5"); err != nil {
		return ProxyConfig{}, err
	}
	if p.HTTP, err = addrPortFromString(m.GetHttp(), "proxy.http"); err != nil {
		return ProxyConfig{}, err
	}
	for i, fm := range m.GetForwards() {
		what := fmt.Sprintf("proxy.forwards[%d]", i)
		var f Forward
		if f.Proto, err = protoFromPB(fm.GetProto(), what+".proto"); err != nil {
			return ProxyConfig{}, err
		}
		if f.Listen, err = addrPortFromString(fm.GetListen(), what+".listen"); err != nil {
			return ProxyConfig{}, err
		}
		if th := fm.GetTargetHost(); th != "" {
			if f.TargetHost, f.Target, err = hostPortFromString(th, what+".target_host"); err != nil {
				return ProxyConfig{}, err
			}
		} else if f.Target, err = addrPortFromString(fm.GetTarget(), what+".target"); err != nil {
			return ProxyConfig{}, err
		}
		p.Forwards = append(p.Forwards, f)
	}
	for i, em := range m.GetExposes() {
		what := fmt.Sprintf("proxy.exposes[%d]", i)
		var e Expose
		if e.Proto, err = protoFromPB(em.GetProto(), what+".proto"); err != nil {
			return ProxyConfig{}, err
		}
		if e.MeshPort, err = portFromUint32(em.GetMeshPort(), what+".mesh_port"); err != nil {
			return ProxyConfig{}, err
		}
		if e.Target, err = addrPortFromString(em.GetTarget(), what+".target"); err != nil {
			return ProxyConfig{}, err
		}
		p.Exposes = append(p.Exposes, e)
	}
	if p.DNS, err = addrsFromStrings(m.GetDns(), "proxy.dns"); err != nil {
		return ProxyConfig{}, err
	}
	if mm := m.GetMeshService(); mm != nil {
		ms := &MeshService{Accept: mm.GetAccept(), Dial: mm.GetDial()}
		if ms.Port, err = portFromUint32(mm.GetPort(), "proxy.mesh_service.port"); err != nil {
			return ProxyConfig{}, err
		}
		p.MeshService = ms
	}
	if am := m.GetAuth(); am != nil {
		p.Auth = &ProxyAuth{Username: am.GetUsername(), Password: am.GetPassword()}
	}
	if hs := m.GetHosts(); len(hs) > 0 {
		p.Hosts = make([]Host, len(hs))
		for i, hm := range hs {
			h := Host{Name: hm.GetName()}
			if h.Addrs, err = addrsFromStrings(hm.GetAddrs(), fmt.Sprintf("proxy.hosts[%d].addrs", i)); err != nil {
				return ProxyConfig{}, err
			}
			p.Hosts[i] = h
		}
	}
	p.Domain = m.GetDomain()
	return p, nil
}

// hostPortFromString splits "name:port" into the name and the port, as
// Forward holds them with TargetHost set.
func hostPortFromString(s, what string) (string, netip.AddrPort, error) {
	host, portText, err := net.SplitHostPort(s)
	if err != nil {
		return "", netip.AddrPort{}, Errorf(CodeInvalidArgument, "%s: %v", what, err)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil || host == "" {
		return "", netip.AddrPort{}, Errorf(CodeInvalidArgument, "%s: %q is not name:port", what, s)
	}
	return host, netip.AddrPortFrom(netip.Addr{}, uint16(port)), nil
}

func peerChangesToPB(c PeerChanges) (*pb.PeerChanges, error) {
	m := &pb.PeerChanges{Remove: keysToBytes(c.Remove)}
	for i, p := range c.Upsert {
		pm, err := peerConfigToPB(p, fmt.Sprintf("upsert[%d]", i))
		if err != nil {
			return nil, err
		}
		m.Upsert = append(m.Upsert, pm)
	}
	return m, nil
}

func peerChangesFromPB(m *pb.PeerChanges) (PeerChanges, error) {
	var c PeerChanges
	var err error
	if c.Remove, err = keysFromBytes(m.GetRemove(), "remove"); err != nil {
		return PeerChanges{}, err
	}
	for i, pm := range m.GetUpsert() {
		p, err := peerConfigFromPB(pm, fmt.Sprintf("upsert[%d]", i))
		if err != nil {
			return PeerChanges{}, err
		}
		c.Upsert = append(c.Upsert, p)
	}
	return c, nil
}

func peerConfigToPB(p PeerConfig, what string) (*pb.PeerConfig, error) {
	m := &pb.PeerConfig{
		PublicKey:                p.PublicKey[:],
		PersistentKeepaliveNanos: int64(p.PersistentKeepalive),
	}
	var err error
	if m.Endpoint, err = addrPortToString(p.Endpoint, fieldOf(what, "endpoint")); err != nil {
		return nil, err
	}
	if m.AllowedIps, err = prefixesToStrings(p.AllowedIPs, fieldOf(what, "allowed_ips")); err != nil {
		return nil, err
	}
	return m, nil
}

func peerConfigFromPB(m *pb.PeerConfig, what string) (PeerConfig, error) {
	p := PeerConfig{PersistentKeepalive: time.Duration(m.GetPersistentKeepaliveNanos())}
	var err error
	if p.PublicKey, err = keyFromBytes(m.GetPublicKey(), fieldOf(what, "public_key")); err != nil {
		return PeerConfig{}, err
	}
	if p.Endpoint, err = addrPortFromString(m.GetEndpoint(), fieldOf(what, "endpoint")); err != nil {
		return PeerConfig{}, err
	}
	if p.AllowedIPs, err = prefixesFromStrings(m.GetAllowedIps(), fieldOf(what, "allowed_ips")); err != nil {
		return PeerConfig{}, err
	}
	return p, nil
}

// stateForm is how the host asked for a State reply's peers and routes:
// as columns (see convert_columns.go), or one message or string each.
type stateForm struct {
	peerColumns, routeColumns bool
}

// interfaceStateToPB encodes s, its peers and routes in the form asked.
func interfaceStateToPB(s InterfaceState, form stateForm) (*pb.InterfaceState, error) {
	m := &pb.InterfaceState{
		Name:       s.Name,
		PublicKey:  s.PublicKey[:],
		ListenPort: uint32(s.ListenPort),
	}
	var err error
	if m.Addresses, err = prefixesToStrings(s.Addresses, "addresses"); err != nil {
		return nil, err
	}
	if form.routeColumns {
		m.RouteColumns, err = routeColumnsToPB(s.Routes)
	} else {
		m.Routes, err = prefixesToStrings(s.Routes, "routes")
	}
	if err != nil {
		return nil, err
	}
	if form.peerColumns {
		m.PeerColumns, err = peerColumnsToPB(s.Peers)
		return m, err
	}
	// A status carries every peer: the messages are allocated at once, and
	// a peer is named (peers[i]) only when it fails, by converting it again.
	if len(s.Peers) > 0 {
		m.Peers = make([]*pb.PeerState, len(s.Peers))
		pms := make([]pb.PeerState, len(s.Peers))
		for i := range s.Peers {
			if err := peerStateToPB(&s.Peers[i], &pms[i], ""); err != nil {
				return nil, peerStateToPB(&s.Peers[i], &pms[i], fmt.Sprintf("peers[%d]", i))
			}
			m.Peers[i] = &pms[i]
		}
	}
	return m, nil
}

func interfaceStateFromPB(m *pb.InterfaceState) (InterfaceState, error) {
	s := InterfaceState{Name: m.GetName()}
	var err error
	if s.PublicKey, err = keyFromBytes(m.GetPublicKey(), "public_key"); err != nil {
		return InterfaceState{}, err
	}
	if s.ListenPort, err = portFromUint32(m.GetListenPort(), "listen_port"); err != nil {
		return InterfaceState{}, err
	}
	if s.Addresses, err = prefixesFromStrings(m.GetAddresses(), "addresses"); err != nil {
		return InterfaceState{}, err
	}
	if len(m.GetRouteColumns()) > 0 {
		if len(m.GetRoutes()) > 0 {
			return InterfaceState{}, Errorf(CodeInvalidArgument, "both routes and route_columns")
		}
		s.Routes, err = routeColumnsFromPB(m.GetRouteColumns())
	} else {
		s.Routes, err = prefixesFromStrings(m.GetRoutes(), "routes")
	}
	if err != nil {
		return InterfaceState{}, err
	}
	if cols := m.GetPeerColumns(); cols != nil {
		if len(m.GetPeers()) > 0 {
			return InterfaceState{}, Errorf(CodeInvalidArgument, "both peers and peer_columns")
		}
		if s.Peers, err = peerColumnsFromPB(cols); err != nil {
			return InterfaceState{}, err
		}
	} else if pms := m.GetPeers(); len(pms) > 0 {
		s.Peers = make([]PeerState, len(pms))
		for i, pm := range pms {
			if err := peerStateFromPB(pm, &s.Peers[i], ""); err != nil {
				return InterfaceState{}, peerStateFromPB(pm, &s.Peers[i], fmt.Sprintf("peers[%d]", i))
			}
		}
	}
	return s, nil
}

// fieldOf names field of what in an error; with what empty, the field
// alone (no allocation).
func fieldOf(what, field string) string {
	if what == "" {
		return field
	}
	return what + "." + field
}

// peerStateToPB fills m from p, whose key it shares; what names the peer
// in an error.
func peerStateToPB(p *PeerState, m *pb.PeerState, what string) error {
	m.PublicKey = p.PublicKey[:]
	m.PersistentKeepaliveNanos = int64(p.PersistentKeepalive)
	m.RxBytes, m.TxBytes = p.RxBytes, p.TxBytes
	var err error
	if m.Endpoint, err = addrPortToString(p.Endpoint, fieldOf(what, "endpoint")); err != nil {
		return err
	}
	if m.AllowedIps, err = prefixesToStrings(p.AllowedIPs, fieldOf(what, "allowed_ips")); err != nil {
		return err
	}
	if m.LastHandshakeUnixNanos, err = timeToUnixNano(p.LastHandshake, fieldOf(what, "last_handshake")); err != nil {
		return err
	}
	return nil
}

// peerStateFromPB fills p from m; what names the peer in an error.
func peerStateFromPB(m *pb.PeerState, p *PeerState, what string) error {
	*p = PeerState{
		PersistentKeepalive: time.Duration(m.GetPersistentKeepaliveNanos()),
		LastHandshake:       timeFromUnixNano(m.GetLastHandshakeUnixNanos()),
		RxBytes:             m.GetRxBytes(),
		TxBytes:             m.GetTxBytes(),
	}
	var err error
	if p.PublicKey, err = keyFromBytes(m.GetPublicKey(), fieldOf(what, "public_key")); err != nil {
		return err
	}
	if p.Endpoint, err = addrPortFromString(m.GetEndpoint(), fieldOf(what, "endpoint")); err != nil {
		return err
	}
	if p.AllowedIPs, err = prefixesFromStrings(m.GetAllowedIps(), fieldOf(what, "allowed_ips")); err != nil {
		return err
	}
	return nil
}

func filterToPB(f Filter) (*pb.Filter, error) {
	m := &pb.Filter{}
	if len(f.Rules) > 0 {
		m.Rules = make([]*pb.FilterRule, 0, len(f.Rules))
	}
	for i, r := range f.Rules {
		what := func(field string) func() string { // for an error only, as in filterFromPB
			return func() string { return fmt.Sprintf("rules[%d]%s", i, field) }
		}
		rm := &pb.FilterRule{}
		var err error
		if rm.Src, err = prefixesToStringsNamed(r.Src, what(".src")); err != nil {
			return nil, err
		}
		if rm.Dst, err = prefixesToStringsNamed(r.Dst, what(".dst")); err != nil {
			return nil, err
		}
		if rm.Proto, err = protoToPB(r.Proto, ""); err != nil {
			_, err = protoToPB(r.Proto, what(".proto")())
			return nil, err
		}
		if len(r.Ports) > 0 {
			rm.Ports = make([]*pb.PortRange, 0, len(r.Ports))
		}
		for _, pr := range r.Ports {
			rm.Ports = append(rm.Ports, &pb.PortRange{First: uint32(pr.First), Last: uint32(pr.Last)})
		}
		m.Rules = append(m.Rules, rm)
	}
	return m, nil
}

func filterFromPB(m *pb.Filter) (Filter, error) {
	var f Filter
	if rules := m.GetRules(); len(rules) > 0 {
		f.Rules = make([]FilterRule, 0, len(rules))
	}
	for i, rm := range m.GetRules() {
		// Names for errors are built only for an error: formatted for
		// every rule, they cost as much as the conversion.
		what := func(field string) func() string {
			return func() string { return fmt.Sprintf("rules[%d]%s", i, field) }
		}
		var r FilterRule
		var err error
		if r.Src, err = prefixesFromStringsNamed(rm.GetSrc(), what(".src")); err != nil {
			return Filter{}, err
		}
		if r.Dst, err = prefixesFromStringsNamed(rm.GetDst(), what(".dst")); err != nil {
			return Filter{}, err
		}
		if r.Proto, err = protoFromPB(rm.GetProto(), ""); err != nil {
			_, err = protoFromPB(rm.GetProto(), what(".proto")())
			return Filter{}, err
		}
		if ports := rm.GetPorts(); len(ports) > 0 {
			r.Ports = make([]PortRange, 0, len(ports))
		}
		for j, pm := range rm.GetPorts() {
			first, errFirst := portFromUint32(pm.GetFirst(), "")
			last, errLast := portFromUint32(pm.GetLast(), "")
			if errFirst != nil || errLast != nil { // again, with the field's name
				pwhat := fmt.Sprintf("rules[%d].ports[%d]", i, j)
				if _, err := portFromUint32(pm.GetFirst(), pwhat+".first"); err != nil {
					return Filter{}, err
				}
				_, err := portFromUint32(pm.GetLast(), pwhat+".last")
				return Filter{}, err
			}
			r.Ports = append(r.Ports, PortRange{First: first, Last: last})
		}
		f.Rules = append(f.Rules, r)
	}
	return f, nil
}

func interfaceSummaryToPB(s InterfaceSummary) (*pb.InterfaceSummary, error) {
	m := &pb.InterfaceSummary{
		Name:       s.Name,
		PublicKey:  s.PublicKey[:],
		ListenPort: uint32(s.ListenPort),
		HostRoutes: uint64(max(s.HostRoutes, 0)),
		Peers: &pb.PeerTotals{Count: uint64(max(s.Peers.Count, 0)), Handshaken: uint64(max(s.Peers.Handshaken, 0)),
			RxBytes: s.Peers.RxBytes, TxBytes: s.Peers.TxBytes},
	}
	var err error
	if m.Addresses, err = prefixesToStrings(s.Addresses, "addresses"); err != nil {
		return nil, err
	}
	if m.Peers.LatestHandshakeUnixNanos, err = timeToUnixNano(s.Peers.LatestHandshake, "peers.latest_handshake"); err != nil {
		return nil, err
	}
	for i, r := range s.Routes {
		ps, err := prefixesToStrings([]netip.Prefix{r.Prefix}, fmt.Sprintf("routes[%d].prefix", i))
		if err != nil {
			return nil, err
		}
		rm := &pb.RouteVia{Prefix: ps[0]}
		if !r.Peer.IsZero() {
			rm.Peer = r.Peer[:]
		}
		m.Routes = append(m.Routes, rm)
	}
	return m, nil
}

func interfaceSummaryFromPB(m *pb.InterfaceSummary) (InterfaceSummary, error) {
	s := InterfaceSummary{Name: m.GetName()}
	var err error
	if s.PublicKey, err = keyFromBytes(m.GetPublicKey(), "public_key"); err != nil {
		return InterfaceSummary{}, err
	}
	if s.ListenPort, err = portFromUint32(m.GetListenPort(), "listen_port"); err != nil {
		return InterfaceSummary{}, err
	}
	if s.Addresses, err = prefixesFromStrings(m.GetAddresses(), "addresses"); err != nil {
		return InterfaceSummary{}, err
	}
	for i, rm := range m.GetRoutes() {
		ps, err := prefixesFromStrings([]string{rm.GetPrefix()}, fmt.Sprintf("routes[%d].prefix", i))
		if err != nil {
			return InterfaceSummary{}, err
		}
		r := RouteVia{Prefix: ps[0]}
		if len(rm.GetPeer()) > 0 {
			if r.Peer, err = keyFromBytes(rm.GetPeer(), fmt.Sprintf("routes[%d].peer", i)); err != nil {
				return InterfaceSummary{}, err
			}
		}
		s.Routes = append(s.Routes, r)
	}
	const maxCount = 1 << 40 // far above any backend's peers; keeps int conversions exact
	t := m.GetPeers()
	if m.GetHostRoutes() > maxCount || t.GetCount() > maxCount || t.GetHandshaken() > t.GetCount() {
		return InterfaceSummary{}, Errorf(CodeInvalidArgument, "peers: %d handshaken of %d peers, %d host routes", t.GetHandshaken(), t.GetCount(), m.GetHostRoutes())
	}
	s.HostRoutes = int(m.GetHostRoutes())
	s.Peers = PeerTotals{Count: int(t.GetCount()), Handshaken: int(t.GetHandshaken()),
		LatestHandshake: timeFromUnixNano(t.GetLatestHandshakeUnixNanos()), RxBytes: t.GetRxBytes(), TxBytes: t.GetTxBytes()}
	return s, nil
}
