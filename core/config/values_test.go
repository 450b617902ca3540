//go:build !windows

// The expected paths below are Unix paths.

package config

import (
	"log/slog"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/hostapi"
)

func TestValidValues(t *testing.T) {
	ap := netip.MustParseAddrPort
	tests := []struct {
		name  string
		lines []string
		got   func(*Config) any
		want  any
	}{
		{"node.id", []string{`node.id = "a.b_c-9"`}, func(c *Config) any { return c.Node.ID }, "a.b_c-9"},
		{"node.id 63 bytes", []string{`node.id = "` + strings.Repeat("a", 63) + `"`}, func(c *Config) any { return c.Node.ID }, strings.Repeat("a", 63)},
		{"node.private_key_file relative", []string{`node.private_key_file = "keys/../n1.key"`}, func(c *Config) any { return c.Node.PrivateKeyFile }, "/etc/rn/n1.key"},
		{"node.private_key_file absolute", []string{`node.private_key_file = "/k/n1.key"`}, func(c *Config) any { return c.Node.PrivateKeyFile }, "/k/n1.key"},
		{"node.state_dir relative", []string{`node.state_dir = "state"`}, func(c *Config) any { return c.Node.StateDir }, "/etc/rn/state"},
		{"node.state_dir absolute", []string{`node.state_dir = "/var/lib/rn"`}, func(c *Config) any { return c.Node.StateDir }, "/var/lib/rn"},
		{"node.high_water_file relative", []string{`node.high_water_file = "hw.json"`}, func(c *Config) any { return c.Node.HighWaterFile }, "/etc/rn/hw.json"},
		{"membership.genesis_file relative", []string{`membership.genesis_file = "g/genesis.json"`}, func(c *Config) any { return c.Membership.GenesisFile }, "/etc/rn/g/genesis.json"},
		{"membership.genesis_root", nil, func(c *Config) any { return c.Membership.GenesisRoot.String() }, testRoot},
		{"membership.feed directory", []string{`membership.feed = "feed"`}, func(c *Config) any { return c.Membership.Feed }, Feed{Dir: "/etc/rn/feed"}},
		{"membership.feed https", []string{`membership.feed = "https://example.org/log.json?x=1"`}, func(c *Config) any { return c.Membership.Feed.URL.String() }, "https://example.org/log.json?x=1"},
		{"membership.feed http upper-case scheme", []string{`membership.feed = "HTTP://127.0.0.1:8080/log"`}, func(c *Config) any { return c.Membership.Feed.URL.Scheme }, "http"},
		{"membership.feed empty", []string{`membership.feed = ""`}, func(c *Config) any { return c.Membership.Feed.IsZero() }, true},
		{"membership.feed_interval", []string{`membership.feed_interval = "1m30s"`}, func(c *Config) any { return c.Membership.FeedInterval }, 90 * time.Second},
		{"membership.max_clock_skew zero", []string{`membership.max_clock_skew = "0s"`}, func(c *Config) any { return c.Membership.MaxClockSkew }, time.Duration(0)},
		{"membership.max_clock_skew", []string{`membership.max_clock_skew = "2m"`}, func(c *Config) any { return c.Membership.MaxClockSkew }, 2 * time.Minute},
		{"store.kind sqlite", []string{`store.kind = "sqlite"`}, func(c *Config) any { return c.Store.Kind }, StoreSQLite},
		{"store.kind file", []string{`store.kind = "file"`}, func(c *Config) any { return c.Store.Kind }, StoreFile},
		{"store.plugin relative", []string{`store.plugin = "bin/store"`}, func(c *Config) any { return c.Store.Plugin }, "/etc/rn/bin/store"},
		{"store.plugin_sha256 upper-case", []string{`store.plugin = "s"`, `store.plugin_sha256 = "` + strings.Repeat("AB", 32) + `"`}, func(c *Config) any { return c.Store.PluginSHA256 }, strings.Repeat("ab", 32)},
		{"backend.kind auto", []string{`backend.kind = "auto"`}, func(c *Config) any { return c.Backend.Kind }, BackendAuto},
		{"backend.kind netstack", []string{`backend.kind = "netstack"`}, func(c *Config) any { return c.Backend.Kind }, BackendNetstack},
		{"backend.kind wgtun", []string{`backend.kind = "wgtun"`}, func(c *Config) any { return c.Backend.Kind }, BackendWGTun},
		{"backend.kind wgkernel", []string{`backend.kind = "wgkernel"`}, func(c *Config) any { return c.Backend.Kind }, BackendWGKernel},
		{"backend.plugin", []string{`backend.plugin = "/opt/b"`, `backend.plugin_sha256 = "` + testRoot + `"`}, func(c *Config) any { return [2]string{c.Backend.Plugin, c.Backend.PluginSHA256} }, [2]string{"/opt/b", testRoot}},
		{"backend.interface", []string{`backend.interface = "wg-mesh0"`}, func(c *Config) any { return c.Backend.Interface }, "wg-mesh0"},
		{"backend.listen_port", []string{`backend.listen_port = 51820`}, func(c *Config) any { return c.Backend.ListenPort }, uint16(51820)},
		{"backend.listen_port max", []string{`backend.listen_port = 65535`}, func(c *Config) any { return c.Backend.ListenPort }, uint16(65535)},
		{"backend.mtu 0 means default", []string{`backend.mtu = 0`}, func(c *Config) any { return c.Backend.MTU }, DefaultMTU},
		{"backend.mtu min", []string{`backend.mtu = 1280`}, func(c *Config) any { return c.Backend.MTU }, 1280},
		{"backend.mtu jumbo", []string{`backend.mtu = 9000`}, func(c *Config) any { return c.Backend.MTU }, 9000},
		{"backend.persistent_keepalive", []string{`backend.persistent_keepalive = "25s"`}, func(c *Config) any { return c.Backend.PersistentKeepalive }, 25 * time.Second},
		{"backend.uapi off", []string{`backend.uapi = false`}, func(c *Config) any { return c.Backend.UAPI }, false},
		{"routing opted out", []string{`[routing]`, `accept_routes = false`, `serve = false`, `masquerade = false`}, func(c *Config) any { return c.Routing }, Routing{}},
		{"routing.exit_node", []string{`routing.exit_node = "n3"`}, func(c *Config) any { return c.Routing.ExitNode }, "n3"},
		{"proxy.socks5 off", []string{`proxy.socks5 = ""`}, func(c *Config) any { return c.Proxy.SOCKS5.IsValid() }, false},
		{"proxy.socks5 v6 loopback", []string{`proxy.socks5 = "[::1]:1081"`}, func(c *Config) any { return c.Proxy.SOCKS5 }, ap("[::1]:1081")},
		{"proxy.http", []string{`proxy.http = "127.0.0.2:3128"`}, func(c *Config) any { return c.Proxy.HTTP }, ap("127.0.0.2:3128")},
		{"proxy.allow_non_loopback", []string{`proxy.allow_non_loopback = true`, `proxy.socks5 = "0.0.0.0:1080"`, `proxy.username = "u"`, `proxy.password_file = "pw"`},
			func(c *Config) any { return c.Proxy.SOCKS5 }, ap("0.0.0.0:1080")},
		{"proxy.allow_non_loopback for a forward without credentials", []string{`proxy.allow_non_loopback = true`, `[[proxy.forward]]`, `listen = "0.0.0.0:8080"`, `target = "100.64.0.2:80"`},
			func(c *Config) any { return c.Proxy.Forwards[0].Listen }, ap("0.0.0.0:8080")},
		{"proxy.username and password_file", []string{`[proxy]`, `username = "ü-ser"`, `password_file = "secrets/proxy.pw"`},
			func(c *Config) any { return [2]string{c.Proxy.Username, c.Proxy.PasswordFile} }, [2]string{"ü-ser", "/etc/rn/secrets/proxy.pw"}},
		{"proxy without credentials", []string{`[proxy]`, `username = ""`, `password_file = ""`},
			func(c *Config) any { return [2]string{c.Proxy.Username, c.Proxy.PasswordFile} }, [2]string{"", ""}},
		{"proxy.forward to a name", []string{`[[proxy.forward]]`, `listen = "127.0.0.1:8081"`, `target = "n2.lab:80"`},
			func(c *Config) any { return c.Proxy.Forwards }, []hostapi.Forward{
				{Proto: hostapi.ProtoTCP, Listen: ap("127.0.0.1:8081"), Target: netip.AddrPortFrom(netip.Addr{}, 80), TargetHost: "n2.lab"},
			}},
		{"proxy.dns", []string{`proxy.dns = ["100.64.0.53", "fd00::53"]`}, func(c *Config) any { return c.Proxy.DNS }, []netip.Addr{netip.MustParseAddr("100.64.0.53"), netip.MustParseAddr("fd00::53")}},
		{"proxy.forward", []string{
			`[[proxy.forward]]`, `listen = "127.0.0.1:8081"`, `target = "100.64.0.2:80"`,
			`[[proxy.forward]]`, `proto = "udp"`, `listen = "127.0.0.1:8081"`, `target = "100.64.0.2:53"`,
		}, func(c *Config) any { return c.Proxy.Forwards }, []hostapi.Forward{
			{Proto: hostapi.ProtoTCP, Listen: ap("127.0.0.1:8081"), Target: ap("100.64.0.2:80")},
			{Proto: hostapi.ProtoUDP, Listen: ap("127.0.0.1:8081"), Target: ap("100.64.0.2:53")},
		}},
		{"proxy.forward inline", []string{`proxy.forward = [{proto = "tcp", listen = "127.0.0.1:9", target = "100.64.0.2:9"}]`},
			func(c *Config) any { return c.Proxy.Forwards }, []hostapi.Forward{{Proto: hostapi.ProtoTCP, Listen: ap("127.0.0.1:9"), Target: ap("100.64.0.2:9")}}},
		{"proxy.expose", []string{
			`[[proxy.expose]]`, `port = 80`, `target = "127.0.0.1:8000"`,
			`[[proxy.expose]]`, `proto = "udp"`, `port = 80`, `target = "192.168.1.5:53"`,
		}, func(c *Config) any { return c.Proxy.Exposes }, []hostapi.Expose{
			{Proto: hostapi.ProtoTCP, MeshPort: 80, Target: ap("127.0.0.1:8000")},
			{Proto: hostapi.ProtoUDP, MeshPort: 80, Target: ap("192.168.1.5:53")},
		}},
		{"proxy with auto backend", []string{`backend.kind = "auto"`, `proxy.http = "127.0.0.1:3128"`}, func(c *Config) any { return c.Proxy.HTTP }, ap("127.0.0.1:3128")},
		{"control.socket relative", []string{`control.socket = "run/c.sock"`}, func(c *Config) any { return c.Control.Socket }, "/etc/rn/run/c.sock"},
		{"control.group", []string{`control.group = "rustynet"`}, func(c *Config) any { return c.Control.Group }, "rustynet"},
		{"log.level debug", []string{`log.level = "debug"`}, func(c *Config) any { return c.Log.Level }, slog.LevelDebug},
		{"log.level info", []string{`log.level = "info"`}, func(c *Config) any { return c.Log.Level }, slog.LevelInfo},
		{"log.level warn", []string{`log.level = "warn"`}, func(c *Config) any { return c.Log.Level }, slog.LevelWarn},
		{"log.level error", []string{`log.level = "error"`}, func(c *Config) any { return c.Log.Level }, slog.LevelError},
		{"log.format json", []string{`log.format = "json"`}, func(c *Config) any { return c.Log.Format }, LogJSON},
		{"log.format default", nil, func(c *Config) any { return c.Log.Format }, LogText},
		{"metrics off by default", nil, func(c *Config) any { return c.Metrics.Listen }, netip.AddrPort{}},
		{"metrics.listen", []string{`metrics.listen = "127.0.0.1:9464"`}, func(c *Config) any { return c.Metrics.Listen }, ap("127.0.0.1:9464")},
		{"metrics.listen IPv6 loopback", []string{`metrics.listen = "[::1]:9464"`}, func(c *Config) any { return c.Metrics.Listen }, ap("[::1]:9464")},
		{"metrics.listen allowed elsewhere", []string{`[metrics]`, `listen = "0.0.0.0:9464"`, `allow_non_loopback = true`}, func(c *Config) any { return c.Metrics.Listen }, ap("0.0.0.0:9464")},
		{"daemon.exit_on_broken_plugin", []string{`[daemon]`, `exit_on_broken_plugin = true`}, func(c *Config) any { return c.Daemon.ExitOnBrokenPlugin }, true},
		{"daemon.exit_on_broken_plugin false", []string{`daemon.exit_on_broken_plugin = false`}, func(c *Config) any { return c.Daemon.ExitOnBrokenPlugin }, false},
		{"daemon.exit_on_broken_plugin default", nil, func(c *Config) any { return c.Daemon.ExitOnBrokenPlugin }, false},
		{"tables instead of dotted keys", []string{`[store]`, `kind = "sqlite"`}, func(c *Config) any { return c.Store.Kind }, StoreSQLite},
		{"inline table", []string{`store = {kind = "sqlite"}`}, func(c *Config) any { return c.Store.Kind }, StoreSQLite},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.lines...)
			if diff := cmp.Diff(tt.want, tt.got(c), cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
				cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b }), cmp.Comparer(func(a, b *url.URL) bool { return a == b || a != nil && b != nil && *a == *b })); diff != "" {
				t.Errorf("got … want (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInvalidValues(t *testing.T) {
	tests := []struct {
		name    string
		lines   []string
		key     string
		line    int // within lines, 1-based
		msgPart string
	}{
		{"node.id type", []string{`node.id = 5`}, "node.id", 1, "must be a string, not an integer"},
		{"node.id upper-case", []string{`node.id = "N1"`}, "node.id", 1, "is not a node id"},
		{"node.id empty", []string{`node.id = ""`}, "node.id", 1, "is not a node id"},
		{"node.id leading dash", []string{`node.id = "-n"`}, "node.id", 1, "is not a node id"},
		{"node.id too long", []string{`node.id = "` + strings.Repeat("a", 64) + `"`}, "node.id", 1, "is not a node id"},
		{"node.private_key_file empty", []string{`node.private_key_file = ""`}, "node.private_key_file", 1, "must not be empty"},
		{"node.private_key_file type", []string{`node.private_key_file = ["a"]`}, "node.private_key_file", 1, "must be a string, not an array"},
		{"node.state_dir type", []string{`node.state_dir = 1`}, "node.state_dir", 1, "must be a string"},
		{"node.state_dir NUL", []string{`node.state_dir = "a\u0000b"`}, "node.state_dir", 1, "NUL"},
		{"node.high_water_file type", []string{`node.high_water_file = true`}, "node.high_water_file", 1, "must be a string, not a boolean"},
		{"membership.genesis_file empty", []string{`membership.genesis_file = ""`}, "membership.genesis_file", 1, "must not be empty"},
		{"membership.genesis_root short", []string{`membership.genesis_root = "abcd"`}, "membership.genesis_root", 1, "64 lower-case hex digits"},
		{"membership.genesis_root upper-case", []string{`membership.genesis_root = "` + strings.ToUpper(testRoot) + `"`}, "membership.genesis_root", 1, "64 lower-case hex digits"},
		{"membership.genesis_root zero", []string{`membership.genesis_root = "` + strings.Repeat("0", 64) + `"`}, "membership.genesis_root", 1, "must not be zero"},
		{"membership.feed scheme", []string{`membership.feed = "ftp://example.org/log"`}, "membership.feed", 1, "only http:// and https://"},
		{"membership.feed no host", []string{`membership.feed = "https:///log"`}, "membership.feed", 1, "has no host"},
		{"membership.feed type", []string{`membership.feed = 5`}, "membership.feed", 1, "must be a string"},
		{"routing.exit_node not an id", []string{`routing.exit_node = "N 3"`}, "routing.exit_node", 1, "is not a node id"},
		{"routing.accept_routes type", []string{`routing.accept_routes = "yes"`}, "routing.accept_routes", 1, "must be true or false"},
		{"routing unknown key", []string{`routing.advertise = ["10.0.0.0/8"]`}, "routing.advertise", 1, "unknown"},
		{"backend.uapi type", []string{`backend.uapi = 1`}, "backend.uapi", 1, "must be true or false"},
		{"daemon.exit_on_broken_plugin type", []string{`daemon.exit_on_broken_plugin = "yes"`}, "daemon.exit_on_broken_plugin", 1, "must be true or false"},
		{"daemon unknown key", []string{`[daemon]`, `exit_on_broken = true`}, "daemon.exit_on_broken", 2, "unknown"},
		{"membership.feed_interval unitless", []string{`membership.feed_interval = "5"`}, "membership.feed_interval", 1, "is not a duration"},
		{"membership.feed_interval integer", []string{`membership.feed_interval = 5`}, "membership.feed_interval", 1, "must be a string, not an integer"},
		{"membership.feed_interval zero", []string{`membership.feed_interval = "0s"`}, "membership.feed_interval", 1, "out of range"},
		{"membership.feed_interval negative", []string{`membership.feed_interval = "-1s"`}, "membership.feed_interval", 1, "out of range"},
		{"membership.max_clock_skew negative", []string{`membership.max_clock_skew = "-1s"`}, "membership.max_clock_skew", 1, "out of range"},
		{"membership.max_clock_skew too large", []string{`membership.max_clock_skew = "25h"`}, "membership.max_clock_skew", 1, "out of range"},
		{"store.kind wrong case", []string{`store.kind = "File"`}, "store.kind", 1, `"File" is not one of file, sqlite`},
		{"store.kind unknown", []string{`store.kind = "bolt"`}, "store.kind", 1, "is not one of"},
		{"store.kind type", []string{`store.kind = 1`}, "store.kind", 1, "must be a string"},
		{"store.plugin type", []string{`store.plugin = 1`}, "store.plugin", 1, "must be a string"},
		{"store.plugin_sha256 short", []string{`store.plugin = "p"`, `store.plugin_sha256 = "abc"`}, "store.plugin_sha256", 2, "SHA-256 in hex"},
		{"store.plugin_sha256 not hex", []string{`store.plugin = "p"`, `store.plugin_sha256 = "` + strings.Repeat("zz", 32) + `"`}, "store.plugin_sha256", 2, "SHA-256 in hex"},
		{"store.plugin_sha256 without plugin", []string{`store.plugin_sha256 = "` + testRoot + `"`}, "store.plugin_sha256", 1, "store.plugin is not set"},
		{"backend.kind unknown", []string{`backend.kind = "kernel"`}, "backend.kind", 1, "is not one of auto, netstack, wgtun, wgkernel"},
		{"backend.plugin_sha256 short", []string{`backend.plugin = "p"`, `backend.plugin_sha256 = "00"`}, "backend.plugin_sha256", 2, "SHA-256 in hex"},
		{"backend.interface slash", []string{`backend.interface = "a/b"`}, "backend.interface", 1, "is not an interface name"},
		{"backend.interface control character", []string{`backend.interface = "a\tb"`}, "backend.interface", 1, "is not an interface name"},
		{"backend.listen_port negative", []string{`backend.listen_port = -1`}, "backend.listen_port", 1, "out of range [0, 65535]"},
		{"backend.listen_port too large", []string{`backend.listen_port = 65536`}, "backend.listen_port", 1, "out of range"},
		{"backend.listen_port string", []string{`backend.listen_port = "51820"`}, "backend.listen_port", 1, "must be an integer, not a string"},
		{"backend.listen_port float", []string{`backend.listen_port = 1.5`}, "backend.listen_port", 1, "must be an integer, not a float"},
		{"backend.mtu too small", []string{`backend.mtu = 1000`}, "backend.mtu", 1, "below 1280"},
		{"backend.mtu too large", []string{`backend.mtu = 70000`}, "backend.mtu", 1, "out of range"},
		{"backend.persistent_keepalive fraction", []string{`backend.persistent_keepalive = "1.5s"`}, "backend.persistent_keepalive", 1, "whole number of seconds"},
		{"backend.persistent_keepalive too large", []string{`backend.persistent_keepalive = "20h"`}, "backend.persistent_keepalive", 1, "out of range"},
		{"proxy.socks5 non-loopback", []string{`proxy.socks5 = "0.0.0.0:1080"`}, "proxy.socks5", 1, "not a loopback address; set proxy.allow_non_loopback"},
		{"proxy.socks5 host name", []string{`proxy.socks5 = "localhost:1080"`}, "proxy.socks5", 1, "is not IP:port"},
		{"proxy.socks5 port 0", []string{`proxy.socks5 = "127.0.0.1:0"`}, "proxy.socks5", 1, "port must not be 0"},
		{"proxy.socks5 port too large", []string{`proxy.socks5 = "127.0.0.1:65536"`}, "proxy.socks5", 1, "is not IP:port"},
		{"proxy.socks5 type", []string{`proxy.socks5 = 1080`}, "proxy.socks5", 1, "must be a string"},
		{"proxy.http non-loopback", []string{`proxy.http = "192.168.1.1:3128"`}, "proxy.http", 1, "not a loopback address"},
		{"proxy.http non-loopback allowed, without credentials", []string{`proxy.allow_non_loopback = true`, `proxy.http = "192.168.1.1:3128"`}, "proxy.http", 2,
			"a proxy other hosts can reach needs proxy.username and proxy.password_file"},
		{"proxy.socks5 non-loopback with credentials, not allowed", []string{`[proxy]`, `username = "u"`, `password_file = "pw"`, `socks5 = "192.168.1.1:1080"`}, "proxy.socks5", 4,
			"set proxy.allow_non_loopback = true"},
		{"proxy.username without password_file", []string{`proxy.username = "u"`}, "proxy.username", 1, "needs proxy.password_file"},
		{"proxy.password_file without username", []string{`proxy.password_file = "pw"`}, "proxy.password_file", 1, "needs proxy.username"},
		{"proxy.username with a colon", []string{`proxy.username = "a:b"`, `proxy.password_file = "pw"`}, "proxy.username", 1, "has a colon"},
		{"proxy.username too long", []string{`proxy.username = "` + strings.Repeat("u", 256) + `"`, `proxy.password_file = "pw"`}, "proxy.username", 1, "longer than 255 bytes"},
		{"proxy.username control character", []string{`proxy.username = "a\tb"`, `proxy.password_file = "pw"`}, "proxy.username", 1, "control character"},
		{"proxy.username type", []string{`proxy.username = 1`}, "proxy.username", 1, "must be a string"},
		{"proxy.forward target name without port", []string{`[[proxy.forward]]`, `listen = "127.0.0.1:1"`, `target = "n2"`}, "proxy.forward.target", 3, "has no port"},
		{"proxy.forward target name port 0", []string{`[[proxy.forward]]`, `listen = "127.0.0.1:1"`, `target = "n2:0"`}, "proxy.forward.target", 3, "want a port of 1–65535"},
		{"proxy.forward target bad name", []string{`[[proxy.forward]]`, `listen = "127.0.0.1:1"`, `target = "n 2:80"`}, "proxy.forward.target", 3, "is not IP:port"},
		{"proxy.http same as socks5", []string{`proxy.http = "127.0.0.1:1080"`}, "proxy.http", 1, "already the SOCKS5 listener"},
		{"proxy.dns bad address", []string{`proxy.dns = ["1.1.1.x"]`}, "proxy.dns", 1, `"1.1.1.x" is not an IP address`},
		{"proxy.dns not an array", []string{`proxy.dns = "1.1.1.1"`}, "proxy.dns", 1, "must be an array of strings, not a string"},
		{"proxy.dns element type", []string{`proxy.dns = [1]`}, "proxy.dns", 1, "element 0 is an integer"},
		{"proxy.allow_non_loopback type", []string{`proxy.allow_non_loopback = "yes"`}, "proxy.allow_non_loopback", 1, "must be true or false"},
		{"proxy.forward proto", []string{`[[proxy.forward]]`, `proto = "sctp"`, `listen = "127.0.0.1:1"`, `target = "100.64.0.2:1"`}, "proxy.forward.proto", 2, `"sctp" is not one of tcp, udp`},
		{"proxy.forward listen missing", []string{`[[proxy.forward]]`, `target = "100.64.0.2:1"`}, "proxy.forward.listen", 1, "required key is missing"},
		{"proxy.forward target missing", []string{`[[proxy.forward]]`, `listen = "127.0.0.1:1"`}, "proxy.forward.target", 1, "required key is missing"},
		{"proxy.forward listen non-loopback", []string{`[[proxy.forward]]`, `listen = "10.0.0.1:1"`, `target = "100.64.0.2:1"`}, "proxy.forward.listen", 2, "not a loopback address"},
		{"proxy.forward target unspecified", []string{`[[proxy.forward]]`, `listen = "127.0.0.1:1"`, `target = "0.0.0.0:80"`}, "proxy.forward.target", 3, "not an address a connection can be made to"},
		{"proxy.forward target port 0", []string{`[[proxy.forward]]`, `listen = "127.0.0.1:1"`, `target = "100.64.0.2:0"`}, "proxy.forward.target", 3, "port must not be 0"},
		{"proxy.forward duplicate listen", []string{
			`[[proxy.forward]]`, `listen = "127.0.0.1:1"`, `target = "100.64.0.2:1"`,
			`[[proxy.forward]]`, `listen = "127.0.0.1:1"`, `target = "100.64.0.3:1"`,
		}, "proxy.forward.listen", 5, "already a listener"},
		{"proxy.forward listen is socks5", []string{`[[proxy.forward]]`, `listen = "127.0.0.1:1080"`, `target = "100.64.0.2:1"`}, "proxy.forward.listen", 2, "already a listener"},
		{"proxy.forward bad in first of three", []string{
			`[[proxy.forward]]`, `listen = "127.0.0.1:1"`, `target = "nowhere"`,
			`[[proxy.forward]]`, `listen = "127.0.0.1:2"`, `target = "100.64.0.3:1"`,
			`[[proxy.forward]]`, `listen = "127.0.0.1:3"`, `target = "100.64.0.3:1"`,
		}, "proxy.forward.target", 3, "has no port"},
		{"proxy.forward bad in second of three", []string{
			`[[proxy.forward]]`, `listen = "127.0.0.1:1"`, `target = "100.64.0.3:1"`,
			`[[proxy.forward]]`, `listen = "127.0.0.1:2"`, `target = "nowhere"`,
			`[[proxy.forward]]`, `listen = "127.0.0.1:3"`, `target = "100.64.0.3:1"`,
		}, "proxy.forward.target", 6, "has no port"},
		{"proxy.forward not an array", []string{`proxy.forward = 5`}, "proxy.forward", 1, "must be an array of tables ([[proxy.forward]]), not an integer"},
		{"proxy.forward array of integers", []string{`proxy.forward = [1]`}, "proxy.forward", 1, "holds an integer"},
		{"proxy.forward single table", []string{`[proxy.forward]`, `listen = "127.0.0.1:1"`}, "proxy.forward", 1, "must be an array of tables"},
		{"proxy.expose port 0", []string{`[[proxy.expose]]`, `port = 0`, `target = "127.0.0.1:80"`}, "proxy.expose.port", 2, "out of range [1, 65535]"},
		{"proxy.expose port too large", []string{`[[proxy.expose]]`, `port = 70000`, `target = "127.0.0.1:80"`}, "proxy.expose.port", 2, "out of range"},
		{"proxy.expose target", []string{`[[proxy.expose]]`, `port = 80`, `target = "127.0.0.1"`}, "proxy.expose.target", 3, "is not IP:port"},
		{"proxy.expose port missing", []string{`[[proxy.expose]]`, `target = "127.0.0.1:80"`}, "proxy.expose.port", 1, "required key is missing"},
		{"proxy.expose proto", []string{`[[proxy.expose]]`, `proto = "icmp"`, `port = 80`, `target = "127.0.0.1:80"`}, "proxy.expose.proto", 2, "is not one of tcp, udp"},
		{"proxy.expose duplicate port", []string{
			`[[proxy.expose]]`, `port = 80`, `target = "127.0.0.1:80"`,
			`[[proxy.expose]]`, `port = 80`, `target = "127.0.0.1:81"`,
		}, "proxy.expose.port", 5, "already exposed"},
		{"proxy with kernel backend", []string{`backend.kind = "wgkernel"`, `[proxy]`, `http = "127.0.0.1:3128"`}, "proxy", 2, `need backend.kind "netstack" or "auto", not "wgkernel"`},
		{"proxy forward with tun backend", []string{`backend.kind = "wgtun"`, `[[proxy.forward]]`, `listen = "127.0.0.1:1"`, `target = "100.64.0.2:1"`}, "proxy", 2, `not "wgtun"`},
		{"control.socket type", []string{`control.socket = 5`}, "control.socket", 1, "must be a string"},
		{"control.socket inside state_dir", []string{`node.state_dir = "/var/lib/rn"`, `control.socket = "/var/lib/rn/c.sock"`}, "control.socket", 2, "is inside node.state_dir /var/lib/rn"},
		{"control.socket deep inside a relative state_dir", []string{`node.state_dir = "st"`, `control.socket = "st/run/c.sock"`}, "control.socket", 2, "holds only the store's files"},
		{"control.group space", []string{`control.group = "a b"`}, "control.group", 1, "is not a valid group name"},
		{"control.group type", []string{`control.group = 0`}, "control.group", 1, "must be a string"},
		{"log.level unknown", []string{`log.level = "verbose"`}, "log.level", 1, "is not one of debug, info, warn, error"},
		{"log.level upper-case", []string{`log.level = "INFO"`}, "log.level", 1, "is not one of"},
		{"log.format unknown", []string{`log.format = "logfmt"`}, "log.format", 1, "is not one of text, json"},
		{"metrics.listen not loopback", []string{`metrics.listen = "0.0.0.0:9464"`}, "metrics.listen", 1, "not a loopback address; set metrics.allow_non_loopback"},
		{"metrics.listen port 0", []string{`metrics.listen = "127.0.0.1:0"`}, "metrics.listen", 1, "the port must not be 0"},
		{"metrics unknown key", []string{`[metrics]`, `path = "/m"`}, "metrics.path", 2, "unknown key"},
		{"table given a value", []string{`log = "debug"`}, "log", 1, "must be a table, not a string"},
		{"table given an array of tables", []string{`[[store]]`, `kind = "file"`}, "store", 1, "must be a table, not an array"},
		{"value given a table", []string{`[log.level]`, `x = 1`}, "log.level", 1, "must be a string, not a table"},
		{"unknown top-level key", []string{`logging = "debug"`}, "logging", 1, "unknown key"},
		{"unknown key in a table", []string{`[backend]`, `kind = "auto"`, `port = 51820`}, "backend.port", 3, "unknown key"},
		{"unknown table", []string{`[extra]`, `a = 1`}, "extra", 1, "unknown key"},
		{"unknown key in an inline table", []string{`store = {kind = "file", path = "x"}`}, "store.path", 1, "unknown key"},
		{"unknown key in the only array element", []string{`[[proxy.expose]]`, `port = 80`, `target = "127.0.0.1:80"`, `mesh_port = 80`}, "proxy.expose.mesh_port", 4, "unknown key"},
		{"unknown key in the first array element", []string{
			`[[proxy.expose]]`, `port = 80`, `bogus = 1`, `target = "127.0.0.1:80"`,
			`[[proxy.expose]]`, `port = 81`, `target = "127.0.0.1:81"`,
			`[[proxy.expose]]`, `port = 82`, `target = "127.0.0.1:82"`,
		}, "proxy.expose.bogus", 3, "unknown key"},
		{"unknown key in the middle array element", []string{
			`[[proxy.expose]]`, `port = 80`, `target = "127.0.0.1:80"`,
			`[[proxy.expose]]`, `port = 81`, `target = "127.0.0.1:81"`, `bogus = 1`,
			`[[proxy.expose]]`, `port = 82`, `target = "127.0.0.1:82"`,
		}, "proxy.expose.bogus", 7, "unknown key"},
		{"unknown array of tables", []string{`[[peer]]`, `id = "x"`, `[[peer]]`, `id = "y"`}, "peer", 1, "unknown key"},
		{"key in the wrong case", []string{`[log]`, `Level = "debug"`}, "log.Level", 2, "keys are case-sensitive: log.level"},
		{"key in the wrong case beside the right one", []string{`[log]`, `level = "debug"`, `LEVEL = "info"`}, "log.LEVEL", 3, "case-sensitive"},
		{"table in the wrong case", []string{`[Log]`, `level = "debug"`}, "Log", 1, "case-sensitive"},
		{"first problem wins", []string{`[backend]`, `mtu = 1`, `[log]`, `level = "x"`}, "backend.mtu", 2, "below 1280"},
		{"syntax error", []string{`[backend`, `kind = "auto"`}, "", 1, "table name"},
		{"duplicate key", []string{`[backend]`, `kind = "auto"`, `kind = "wgtun"`}, "backend.kind", 3, "already been defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, offset := doc(tt.lines...)
			_, err := Parse([]byte(text), "node.toml", "/etc/rn")
			if err == nil {
				t.Fatalf("Parse succeeded, want an error at %s\n%s", tt.key, numbered(text))
			}
			e := asError(t, err)
			want := &Error{File: "node.toml", Line: offset + tt.line, Key: tt.key}
			if e.File != want.File || e.Line != want.Line || e.Key != want.Key || !strings.Contains(e.Msg, tt.msgPart) {
				t.Errorf("got %q, want %s:%d: %s: …%s…\n%s", e.Error(), want.File, want.Line, want.Key, tt.msgPart, numbered(text))
			}
		})
	}
}

func TestRequiredKeys(t *testing.T) {
	tests := []struct {
		name string
		text string
		key  string
		line int
	}{
		{"node.id", "[node]\nprivate_key_file = \"k\"\n[membership]\ngenesis_file = \"g\"\ngenesis_root = \"" + testRoot + "\"\n", "node.id", 1},
		{"node.private_key_file", "[membership]\ngenesis_file = \"g\"\ngenesis_root = \"" + testRoot + "\"\n[node]\nid = \"n1\"\n", "node.private_key_file", 4},
		{"membership.genesis_file", "[node]\nid = \"n1\"\nprivate_key_file = \"k\"\n\n[membership]\ngenesis_root = \"" + testRoot + "\"\n", "membership.genesis_file", 5},
		{"membership.genesis_root", "[node]\nid = \"n1\"\nprivate_key_file = \"k\"\n[membership]\ngenesis_file = \"g\"\n", "membership.genesis_root", 4},
		{"table missing", "[node]\nid = \"n1\"\nprivate_key_file = \"k\"\n", "membership.genesis_root", 0},
		{"genesis_file without a feed", "[node]\nid = \"n1\"\nprivate_key_file = \"k\"\n[membership]\ngenesis_root = \"" + testRoot + "\"\nfeed = \"\"\n", "membership.genesis_file", 4},
		{"empty file", "", "node.id", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.text), "node.toml", "/etc/rn")
			e := asError(t, err)
			if e.Key != tt.key || e.Line != tt.line || e.Msg != "required key is missing" {
				t.Errorf("got %q, want node.toml:%d: %s: required key is missing", e.Error(), tt.line, tt.key)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		name string
		err  Error
		want string
	}{
		{"full", Error{File: "a.toml", Line: 3, Key: "log.level", Msg: "bad"}, "a.toml:3: log.level: bad"},
		{"no line", Error{File: "a.toml", Key: "node.id", Msg: "required key is missing"}, "a.toml: node.id: required key is missing"},
		{"no key", Error{File: "a.toml", Line: 1, Msg: "syntax"}, "a.toml:1: syntax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestGenesisRootIsParsed(t *testing.T) {
	c := mustParse(t)
	want, err := membership.ParseHash(testRoot)
	if err != nil {
		t.Fatal(err)
	}
	if c.Membership.GenesisRoot != want {
		t.Errorf("got %s, want %s", c.Membership.GenesisRoot, want)
	}
}
