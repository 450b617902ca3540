package config

import (
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/hostapi"
)

// This file is the schema: for every key keys.go declares, its type, its
// checks and the field it sets. Keys a file leaves out keep the values of
// Default.

func (d *decoder) config(c *Config) {
	root := &table{m: d.src.tree}
	d.node(d.sub(root, "node"), &c.Node)
	d.membership(d.sub(root, "membership"), &c.Membership)
	d.store(d.sub(root, "store"), &c.Store)
	d.backend(d.sub(root, "backend"), &c.Backend)
	proxy := d.sub(root, "proxy")
	d.proxy(proxy, &c.Proxy)
	if len(proxy.m) > 0 && (c.Backend.Kind == BackendWGTun || c.Backend.Kind == BackendWGKernel) {
		d.probs = append(d.probs, problem{key: "proxy", at: d.firstKeyUnder(proxy.key),
			msg: fmt.Sprintf("proxy settings need backend.kind %q or %q, not %q", BackendNetstack, BackendAuto, c.Backend.Kind)})
	}
	d.routing(d.sub(root, "routing"), &c.Routing)
	d.control(d.sub(root, "control"), &c.Control)
	d.daemon(d.sub(root, "daemon"), &c.Daemon)
	d.log(d.sub(root, "log"), &c.Log)
	d.metrics(d.sub(root, "metrics"), &c.Metrics)
}

func (d *decoder) node(t *table, n *Node) {
	if id, ok := d.str(t, "id"); ok {
		if membership.ValidID(id) {
			n.ID = id
		} else {
			d.fail(t, "id", "%q is not a node id: 1–63 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit", id)
		}
	}
	if p, ok := d.nonEmptyPath(t, "private_key_file"); ok {
		n.PrivateKeyFile = p
	}
	if p, ok := d.path(t, "state_dir"); ok && p != "" {
		n.StateDir = p
	}
	if n.StateDir == "" {
		d.probs = append(d.probs, problem{key: t.at("state_dir").key.String(), at: t.self(),
			msg: "required: there is no default, since neither XDG_STATE_HOME nor the home directory is known"})
	}
	if p, ok := d.path(t, "high_water_file"); ok {
		n.HighWaterFile = p
	}
}

func (d *decoder) membership(t *table, m *Membership) {
	if p, ok := d.nonEmptyPath(t, "genesis_file"); ok {
		m.GenesisFile = p
	}
	defer func() {
		// Without a genesis file the node takes its genesis from the feed,
		// where genesis_root pins it: one of the two is needed (without a
		// feed, genesis_file is a required key).
		if _, ok := t.m["genesis_file"]; !ok && m.Feed.IsZero() {
			l := t.at("genesis_file")
			d.probs = append(d.probs, problem{key: l.key.String(), at: t.self(), msg: "required key is missing"})
		}
	}()
	if s, ok := d.str(t, "genesis_root"); ok {
		h, err := membership.ParseHash(s)
		switch {
		case err != nil:
			d.fail(t, "genesis_root", "must be 64 lower-case hex digits (the root `rustynet membership init` printed)")
		case h == membership.Hash{}:
			d.fail(t, "genesis_root", "must not be zero: it pins the network's genesis")
		default:
			m.GenesisRoot = h
		}
	}
	if s, ok := d.str(t, "feed"); ok && s != "" {
		f, err := parseFeed(s, d.baseDir)
		if err != nil {
			d.fail(t, "feed", "%v", err)
		} else {
			m.Feed = f
		}
	}
	if list, ok := d.strList(t, "feed_mirrors"); ok {
		for _, s := range list {
			f, err := parseFeed(s, d.baseDir)
			if err != nil {
				d.fail(t, "feed_mirrors", "%v", err)
				continue
			}
			m.FeedMirrors = append(m.FeedMirrors, f)
		}
		if len(list) > 0 && m.Feed.IsZero() {
			d.fail(t, "feed_mirrors", "mirrors of no feed: set feed too (the first location tried)")
		}
	}
	if v, ok := d.duration(t, "feed_interval", time.Millisecond, 24*time.Hour); ok {
		m.FeedInterval = v
	}
	if v, ok := d.duration(t, "max_clock_skew", 0, 24*time.Hour); ok {
		m.MaxClockSkew = v
	}
	if v, ok := d.duration(t, "max_update_age", 0, 10*365*24*time.Hour); ok {
		m.MaxUpdateAge = v
	}
	if v, ok := d.integer(t, "sync_port", 0, 65535); ok {
		m.SyncPort = uint16(v)
	}
	if v, ok := d.duration(t, "sync_interval", 100*time.Millisecond, time.Hour); ok {
		m.SyncInterval = v
	}
}

// parseFeed reads a feed: an http(s) URL if s has a scheme, else a
// directory.
func parseFeed(s, baseDir string) (Feed, error) {
	if !strings.Contains(s, "://") {
		dir, err := resolvePath(s, baseDir)
		return Feed{Dir: dir}, err
	}
	u, err := url.Parse(s)
	if err != nil {
		return Feed{}, fmt.Errorf("%q is not a URL: %v", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return Feed{}, fmt.Errorf("%q: only http:// and https:// feeds are supported", s)
	}
	if u.Host == "" {
		return Feed{}, fmt.Errorf("%q has no host", s)
	}
	return Feed{URL: u}, nil
}

func (d *decoder) store(t *table, s *Store) {
	if k, ok := d.enum(t, "kind", string(StoreFile), string(StoreSQLite)); ok {
		s.Kind = StoreKind(k)
	}
	s.Plugin, s.PluginSHA256 = d.plugin(t)
}

// plugin reads the plugin and plugin_sha256 keys of t.
func (d *decoder) plugin(t *table) (path, sha string) {
	path, _ = d.path(t, "plugin")
	if s, ok := d.str(t, "plugin_sha256"); ok && s != "" {
		if b, err := hex.DecodeString(s); err != nil || len(b) != 32 {
			d.fail(t, "plugin_sha256", "must be a SHA-256 in hex (64 digits), as sha256sum prints it")
		} else {
			sha = strings.ToLower(s)
		}
	}
	if sha != "" && path == "" {
		d.fail(t, "plugin_sha256", "pins an external plugin, but %s is not set", t.at("plugin").key)
	}
	return path, sha
}

func (d *decoder) backend(t *table, b *Backend) {
	kinds := []string{string(BackendAuto), string(BackendNetstack), string(BackendWGTun), string(BackendWGKernel)}
	if k, ok := d.enum(t, "kind", kinds...); ok {
		b.Kind = BackendKind(k)
	}
	b.Plugin, b.PluginSHA256 = d.plugin(t)
	if s, ok := d.str(t, "interface"); ok {
		if strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f || r == '/' }) {
			d.fail(t, "interface", "%q is not an interface name", s)
		} else {
			b.Interface = s
		}
	}
	if v, ok := d.integer(t, "listen_port", 0, 65535); ok {
		b.ListenPort = uint16(v)
	}
	if v, ok := d.integer(t, "mtu", 0, 65535); ok {
		switch {
		case v == 0:
			b.MTU = DefaultMTU
		case v < 1280:
			d.fail(t, "mtu", "%d is below 1280, the least IPv6 needs (0 means %d)", v, DefaultMTU)
		default:
			b.MTU = int(v)
		}
	}
	if v, ok := d.duration(t, "persistent_keepalive", 0, 65535*time.Second); ok {
		if v%time.Second != 0 {
			d.fail(t, "persistent_keepalive", "%s is not a whole number of seconds", v)
		} else {
			b.PersistentKeepalive = v
		}
	}
	if v, ok := d.boolean(t, "uapi"); ok {
		b.UAPI = v
	}
}

func (d *decoder) routing(t *table, r *Routing) {
	for _, k := range []struct {
		name string
		dst  *bool
	}{{"accept_routes", &r.AcceptRoutes}, {"serve", &r.Serve}, {"masquerade", &r.Masquerade}} {
		if v, ok := d.boolean(t, k.name); ok {
			*k.dst = v
		}
	}
	if id, ok := d.str(t, "exit_node"); ok {
		if id == "" || membership.ValidID(id) {
			r.ExitNode = id
		} else {
			d.fail(t, "exit_node", "%q is not a node id: 1–63 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit", id)
		}
	}
}

func (d *decoder) proxy(t *table, p *Proxy) {
	if v, ok := d.boolean(t, "allow_non_loopback"); ok {
		p.AllowNonLoopback = v
	}
	d.proxyAuth(t, p)
	listener := func(ap netip.AddrPort) error {
		if !p.AllowNonLoopback && !ap.Addr().IsLoopback() {
			return fmt.Errorf("%s is not a loopback address; set proxy.allow_non_loopback = true to listen on it", ap)
		}
		return nil
	}
	// A proxy reachable from other hosts must ask its clients who they are.
	proxyListener := func(ap netip.AddrPort) error {
		if err := listener(ap); err != nil {
			return err
		}
		if p.Username == "" && !ap.Addr().IsLoopback() {
			return fmt.Errorf("%s is not a loopback address; a proxy other hosts can reach needs proxy.username and proxy.password_file", ap)
		}
		return nil
	}
	for _, k := range []struct {
		name string
		dst  *netip.AddrPort
	}{{"socks5", &p.SOCKS5}, {"http", &p.HTTP}} {
		if ap, ok := d.addrPort(t, k.name, proxyListener); ok {
			*k.dst = ap
		}
	}
	if p.SOCKS5.IsValid() && p.SOCKS5 == p.HTTP {
		d.fail(t, "http", "%s is already the SOCKS5 listener", p.HTTP)
	}
	if list, ok := d.strList(t, "dns"); ok {
		p.DNS = nil
		for _, s := range list {
			a, err := netip.ParseAddr(s)
			if err != nil {
				d.fail(t, "dns", "%q is not an IP address", s)
				continue
			}
			p.DNS = append(p.DNS, a)
		}
	}
	tcpListeners := map[netip.AddrPort]bool{p.SOCKS5: true, p.HTTP: true}
	udpListeners := map[netip.AddrPort]bool{}
	for _, f := range d.array(t, "forward") {
		fw := hostapi.Forward{Proto: d.proto(f)}
		listen, okL := d.addrPort(f, "listen", listener)
		target, host, okT := d.forwardTarget(f)
		if !okL || !okT || fw.Proto == hostapi.ProtoAny {
			continue
		}
		seen := tcpListeners
		if fw.Proto == hostapi.ProtoUDP {
			seen = udpListeners
		}
		if seen[listen] {
			d.fail(f, "listen", "%s is already a listener", listen)
			continue
		}
		seen[listen] = true
		fw.Listen, fw.Target, fw.TargetHost = listen, target, host
		p.Forwards = append(p.Forwards, fw)
	}
	exposed := map[hostapi.Proto]map[int64]bool{hostapi.ProtoTCP: {}, hostapi.ProtoUDP: {}}
	for _, e := range d.array(t, "expose") {
		ex := hostapi.Expose{Proto: d.proto(e)}
		port, okP := d.integer(e, "port", 1, 65535)
		target, okT := d.addrPort(e, "target", nil)
		if !okP || !okT || ex.Proto == hostapi.ProtoAny {
			continue
		}
		if exposed[ex.Proto][port] {
			d.fail(e, "port", "mesh port %d is already exposed", port)
			continue
		}
		exposed[ex.Proto][port] = true
		ex.MeshPort, ex.Target = uint16(port), target
		p.Exposes = append(p.Exposes, ex)
	}
}

// proxyAuth reads the username and password_file keys of the [proxy]
// table t: both or neither.
func (d *decoder) proxyAuth(t *table, p *Proxy) {
	user, okU := d.str(t, "username")
	if okU && user != "" {
		if err := hostapi.CheckProxyUsername(user); err != nil {
			d.fail(t, "username", "%s", hostapi.Message(err))
			okU = false
		}
	}
	file, okF := d.path(t, "password_file")
	switch {
	case !okU && d.present(t, "username"), !okF && d.present(t, "password_file"):
		// reported already
	case user != "" && file == "":
		d.fail(t, "username", "needs %s, the file holding the password", t.at("password_file").key)
	case user == "" && file != "":
		d.fail(t, "password_file", "needs %s", t.at("username").key)
	default:
		p.Username, p.PasswordFile = user, file
	}
}

// forwardTarget reads the target key of a [[proxy.forward]] element:
// IP:port, or name:port for a name the proxies resolve (a node id, or
// id.network-id, or a name the mesh's DNS knows). For a name, the port is
// returned in the AddrPort and the name beside it.
func (d *decoder) forwardTarget(t *table) (netip.AddrPort, string, bool) {
	s, ok := d.str(t, "target")
	if !ok || s == "" {
		return netip.AddrPort{}, "", ok
	}
	host, portText, err := net.SplitHostPort(s)
	switch {
	case err == nil && hostapi.CheckHostName(host) == nil:
		port, err := strconv.ParseUint(portText, 10, 16)
		if err != nil || port == 0 {
			d.fail(t, "target", "%q: want a port of 1–65535 after the name", s)
			return netip.AddrPort{}, "", false
		}
		return netip.AddrPortFrom(netip.Addr{}, uint16(port)), host, true
	case err != nil && hostapi.CheckHostName(s) == nil:
		d.fail(t, "target", "%q has no port: want name:port, such as n2:80, or IP:port", s)
		return netip.AddrPort{}, "", false
	}
	ap, ok := d.addrPort(t, "target", meshTarget)
	return ap, "", ok
}

// meshTarget refuses targets no packet can be sent to.
func meshTarget(ap netip.AddrPort) error {
	if ap.Addr().IsUnspecified() || ap.Addr().IsMulticast() {
		return fmt.Errorf("%s is not an address a connection can be made to", ap)
	}
	return nil
}

// proto reads the proto key of a forward or expose: "tcp" (the default) or
// "udp". It returns ProtoAny when the value is invalid.
func (d *decoder) proto(t *table) hostapi.Proto {
	s, ok := d.enum(t, "proto", "tcp", "udp")
	switch {
	case !ok && d.present(t, "proto"):
		return hostapi.ProtoAny
	case s == "udp":
		return hostapi.ProtoUDP
	default:
		return hostapi.ProtoTCP
	}
}

// present reports whether t holds name.
func (d *decoder) present(t *table, name string) bool {
	_, ok := t.m[name]
	return ok
}

func (d *decoder) control(t *table, c *Control) {
	if s, ok := d.str(t, "socket"); ok && s != "" {
		if p, err := controlSocket(s, d.baseDir); err != nil {
			d.fail(t, "socket", "%v", err)
		} else {
			c.Socket = p
		}
	}
	if s, ok := d.str(t, "group"); ok {
		if err := controlGroup(s); err != nil {
			d.fail(t, "group", "%q %v", s, err)
		} else {
			c.Group = s
		}
	}
}

func (d *decoder) daemon(t *table, dm *Daemon) {
	if v, ok := d.boolean(t, "exit_on_broken_plugin"); ok {
		dm.ExitOnBrokenPlugin = v
	}
}

var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug,
	"info":  slog.LevelInfo,
	"warn":  slog.LevelWarn,
	"error": slog.LevelError,
}

func (d *decoder) log(t *table, l *Log) {
	if s, ok := d.enum(t, "level", "debug", "info", "warn", "error"); ok {
		l.Level = logLevels[s]
	}
	if s, ok := d.enum(t, "format", string(LogText), string(LogJSON)); ok {
		l.Format = LogFormat(s)
	}
}

func (d *decoder) metrics(t *table, m *Metrics) {
	if v, ok := d.boolean(t, "allow_non_loopback"); ok {
		m.AllowNonLoopback = v
	}
	if ap, ok := d.addrPort(t, "listen", func(ap netip.AddrPort) error {
		if !m.AllowNonLoopback && !ap.Addr().IsLoopback() {
			return fmt.Errorf("%s is not a loopback address; set metrics.allow_non_loopback = true to serve metrics on it", ap)
		}
		return nil
	}); ok {
		m.Listen = ap
	}
}
