package netstack

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"

	"github.com/rustynet/rustynet/hostapi"
)

// proxySet runs the services a hostapi.ProxyConfig asks for: the SOCKS5 and
// HTTP proxies and the forwards on the host, the exposes in the mesh. Its
// methods are called with the Backend's configuration lock held.
type proxySet struct {
	log     *slog.Logger
	mesh    *mesh
	limits  proxyLimits
	tagger  *authTagger
	cfg     hostapi.ProxyConfig
	running map[string]runningService // by serviceSpec.key
}

type runningService struct {
	spec serviceSpec
	svc  *service
}

// serviceSpec is one wanted service; key names it completely, so a spec
// whose key is running needs nothing done.
type serviceSpec struct {
	key string
	// listen is the host socket it asks for ("tcp 127.0.0.1:1080"), empty
	// for a port chosen by the system or a socket in the mesh.
	listen string
	start  func() (*service, error)
}

func newProxySet(log *slog.Logger, m *mesh, limits proxyLimits) *proxySet {
	return &proxySet{log: log, mesh: m, limits: limits, tagger: newAuthTagger(), running: make(map[string]runningService)}
}

func hostSocket(transport string, ap netip.AddrPort) string {
	if ap.Port() == 0 {
		return ""
	}
	return transport + " " + ap.String()
}

// specs lists the services cfg asks for. The proxies' keys carry a tag of
// the credentials (authTagger), so that new credentials restart them.
func (p *proxySet) specs(cfg hostapi.ProxyConfig) []serviceSpec {
	var out []serviceSpec
	creds, tag := newCredentials(cfg.Auth), p.tagger.tag(cfg.Auth)
	if cfg.SOCKS5.IsValid() {
		key := "socks5 " + cfg.SOCKS5.String() + tag
		out = append(out, serviceSpec{key, hostSocket("tcp", cfg.SOCKS5),
			func() (*service, error) { return startSOCKS5(p.log, p.mesh, p.limits, creds, key, cfg.SOCKS5) }})
	}
	if cfg.HTTP.IsValid() {
		key := "http " + cfg.HTTP.String() + tag
		out = append(out, serviceSpec{key, hostSocket("tcp", cfg.HTTP),
			func() (*service, error) { return startHTTPProxy(p.log, p.mesh, p.limits, creds, key, cfg.HTTP) }})
	}
	for _, f := range cfg.Forwards {
		out = append(out, serviceSpec{forwardKey(f), hostSocket(protoName(f.Proto), f.Listen),
			func() (*service, error) { return startForward(p.log, p.mesh, p.limits, f) }})
	}
	for _, e := range cfg.Exposes {
		out = append(out, serviceSpec{fmt.Sprintf("expose %s %d->%s", protoName(e.Proto), e.MeshPort, e.Target), "",
			func() (*service, error) { return startExpose(p.log, p.mesh, p.limits, e) }})
	}
	if ms := cfg.MeshService; ms != nil {
		out = append(out, serviceSpec{fmt.Sprintf("mesh service %d %s %s", ms.Port, ms.Accept, ms.Dial), "unix " + ms.Dial,
			func() (*service, error) { return startMeshService(p.log, p.mesh, p.limits, *ms) }})
	}
	return out
}

// proxyChange is a change of the proxy configuration in progress: the new
// services run beside the old ones until commit or abort.
type proxyChange struct {
	p       *proxySet
	cfg     hostapi.ProxyConfig
	keep    map[string]bool
	started []string
	stopped []string
}

// prepare starts the services of cfg that are not running yet. Services
// whose spec did not change keep running with their connections. An old
// service holding the host socket a new one asks for is stopped first;
// otherwise old services run until commit. If a new service cannot start,
// prepare undoes what it did and returns the error.
func (p *proxySet) prepare(cfg hostapi.ProxyConfig) (*proxyChange, error) {
	c := &proxyChange{p: p, cfg: cfg, keep: make(map[string]bool)}
	wanted := p.specs(cfg)
	for _, spec := range wanted {
		c.keep[spec.key] = true
	}
	for _, spec := range wanted {
		if _, ok := p.running[spec.key]; ok {
			continue
		}
		s, err := spec.start()
		if err != nil && spec.listen != "" {
			for key, r := range p.running {
				if !c.keep[key] && r.spec.listen == spec.listen {
					p.stop(key)
					c.stopped = append(c.stopped, key)
					s, err = spec.start()
					break
				}
			}
		}
		if err != nil {
			c.abort()
			return nil, hostapi.Errorf(hostapi.CodeUnavailable, "start %s: %v", spec.key, err)
		}
		p.running[spec.key] = runningService{spec, s}
		c.started = append(c.started, spec.key)
		p.log.Info("netstack: service started", "service", spec.key, "addr", s.addr)
	}
	return c, nil
}

// commit stops the services cfg no longer wants and makes cfg current.
func (c *proxyChange) commit() {
	for key := range c.p.running {
		if !c.keep[key] {
			c.p.stop(key)
		}
	}
	c.p.cfg = c.cfg
	c.p.mesh.setResolution(c.cfg.DNS, c.cfg.Hosts, c.cfg.Domain)
}

// abort stops the services prepare started and restarts those it stopped.
func (c *proxyChange) abort() {
	for _, key := range c.started {
		c.p.stop(key)
	}
	c.p.restart(c.stopped)
}

func (p *proxySet) stop(key string) {
	p.running[key].svc.shutdown()
	delete(p.running, key)
}

// restart starts again the services of p.cfg named by keys.
func (p *proxySet) restart(keys []string) {
	for _, spec := range p.specs(p.cfg) {
		if !slices.Contains(keys, spec.key) {
			continue
		}
		s, err := spec.start()
		if err != nil {
			p.log.Error("netstack: cannot restore a service after a failed change", "service", spec.key, "err", err)
			continue
		}
		p.running[spec.key] = runningService{spec, s}
	}
}

// addr returns the address the service with key listens on.
func (p *proxySet) addr(key string) (string, bool) {
	r, ok := p.running[key]
	if !ok {
		return "", false
	}
	return r.svc.addr, true
}

// close stops every service.
func (p *proxySet) close() {
	for key := range p.running {
		p.stop(key)
	}
}

// validateProxy checks cfg before anything is started. Proxies without
// credentials may listen only on loopback addresses.
func validateProxy(cfg hostapi.ProxyConfig) error {
	var errs []error
	hostTCP := make(map[netip.AddrPort]string)
	hostUDP := make(map[netip.AddrPort]string)
	claim := func(m map[netip.AddrPort]string, ap netip.AddrPort, what string) {
		if ap.Port() == 0 {
			return
		}
		if other, ok := m[ap]; ok {
			errs = append(errs, fmt.Errorf("%s and %s both listen on %s", other, what, ap))
		}
		m[ap] = what
	}
	for _, p := range []struct {
		name string
		ap   netip.AddrPort
	}{{"SOCKS5", cfg.SOCKS5}, {"HTTP", cfg.HTTP}} {
		if p.ap == (netip.AddrPort{}) {
			continue
		}
		if !p.ap.Addr().IsValid() {
			errs = append(errs, fmt.Errorf("%s proxy address %s: invalid", p.name, p.ap))
			continue
		}
		if cfg.Auth == nil && !p.ap.Addr().IsLoopback() {
			errs = append(errs, fmt.Errorf("%s proxy address %s: want a loopback address (the proxy has no authentication)", p.name, p.ap))
			continue
		}
		claim(hostTCP, p.ap, p.name+" proxy")
	}
	for i, f := range cfg.Forwards {
		what := fmt.Sprintf("forward %d", i)
		switch {
		case f.Proto != hostapi.ProtoTCP && f.Proto != hostapi.ProtoUDP:
			errs = append(errs, fmt.Errorf("%s: protocol %d, want TCP or UDP", what, f.Proto))
		case !f.Listen.Addr().IsValid():
			errs = append(errs, fmt.Errorf("%s: invalid listen address %s", what, f.Listen))
		case f.TargetHost != "" && (hostapi.CheckHostName(f.TargetHost) != nil || f.Target.Addr().IsValid() || f.Target.Port() == 0):
			errs = append(errs, fmt.Errorf("%s: target %s needs a host name and a port, and no address", what, f.Destination()))
		case f.TargetHost == "" && !usableTarget(f.Target):
			errs = append(errs, fmt.Errorf("%s: target %s needs an address and a port", what, f.Target))
		case f.Proto == hostapi.ProtoTCP:
			claim(hostTCP, f.Listen, what)
		default:
			claim(hostUDP, f.Listen, what)
		}
	}
	exposed := make(map[hostapi.Expose]bool)
	for i, e := range cfg.Exposes {
		what := fmt.Sprintf("expose %d", i)
		key := hostapi.Expose{Proto: e.Proto, MeshPort: e.MeshPort}
		switch {
		case e.Proto != hostapi.ProtoTCP && e.Proto != hostapi.ProtoUDP:
			errs = append(errs, fmt.Errorf("%s: protocol %d, want TCP or UDP", what, e.Proto))
		case e.MeshPort == 0:
			errs = append(errs, fmt.Errorf("%s: mesh port 0", what))
		case !usableTarget(e.Target):
			errs = append(errs, fmt.Errorf("%s: target %s needs an address and a port", what, e.Target))
		case exposed[key]:
			errs = append(errs, fmt.Errorf("%s: %s mesh port %d is exposed twice", what, protoName(e.Proto), e.MeshPort))
		}
		exposed[key] = true
	}
	for _, a := range cfg.DNS {
		if !usableTarget(netip.AddrPortFrom(a, 53)) {
			errs = append(errs, fmt.Errorf("DNS server %s: want a unicast address", a))
		}
	}
	if err := validateMeshService(cfg.MeshService, cfg.Exposes); err != nil {
		errs = append(errs, err)
	}
	if cfg.Auth != nil {
		if err := hostapi.CheckProxyAuth(*cfg.Auth); err != nil {
			errs = append(errs, errors.New(hostapi.Message(err)))
		}
	}
	if err := checkHosts(cfg.Hosts, cfg.Domain); err != nil {
		errs = append(errs, errors.New(hostapi.Message(err)))
	}
	if err := errors.Join(errs...); err != nil {
		return hostapi.Errorf(hostapi.CodeInvalidArgument, "proxy: %v", err)
	}
	return nil
}

// usableTarget reports whether ap can be connected to.
func usableTarget(ap netip.AddrPort) bool {
	a := ap.Addr()
	return a.IsValid() && !a.IsUnspecified() && !a.IsMulticast() && ap.Port() != 0
}
