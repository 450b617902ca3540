// Package config reads a node's TOML configuration.
//
// Decoding is strict: an unknown key, a value of the wrong type or out of
// range, or a malformed duration, address, hash or enum value is an *Error
// naming the file, the line and the key. Relative paths are resolved against
// the directory of the configuration file. Defaults make a rootless node work
// with only [node] id and private_key_file and [membership] genesis_file and
// genesis_root set:
//
//	[node]
//	id = "n1"                      # required; membership node id
//	private_key_file = "n1.key"    # required; WireGuard private key (wg genkey), mode 0600
//	state_dir = "…"                # default: the layout's (core/paths): /var/lib/rustynet/state for root on Linux,
//	                               # else $XDG_STATE_HOME/rustynet/state, else ~/.local/state/rustynet/state
//	high_water_file = ""           # default: <the layout's high-water directory>/<hash of state_dir>.json
//	                               # (/var/lib/rustynet/highwater for root on Linux; ledger.HighWaterPathIn)
//
//	[membership]
//	genesis_file = "genesis.json"  # required: the signed genesis
//	genesis_root = "<64 hex>"      # required: the pinned genesis root
//	feed = ""                      # optional: a directory or an http(s):// URL serving the portable log
//	feed_interval = "5s"
//	max_clock_skew = "5m"
//	max_update_age = "0s"          # > 0: older newest update ⇒ status stale, health degraded
//
//	[store]
//	kind = "file"                  # file | sqlite
//	plugin = ""                    # external plugin binary; "" = built in
//	plugin_sha256 = ""             # optional hex pin of the plugin binary
//
//	[backend]
//	kind = "netstack"              # auto | netstack | wgtun | wgkernel
//	plugin = ""
//	plugin_sha256 = ""
//	interface = ""                 # "" = the backend's choice
//	listen_port = 0                # 0 = random
//	mtu = 0                        # 0 = 1420
//	persistent_keepalive = "0s"
//	uapi = true                    # wgtun: expose the UAPI socket so `wg show` works
//
//	[proxy]                        # netstack (or auto) only
//	socks5 = "127.0.0.1:1080"      # "" disables; loopback unless allow_non_loopback
//	http = ""
//	dns = []                       # resolvers inside the mesh
//	allow_non_loopback = false
//	[[proxy.forward]]              # zero or more: local listener → mesh
//	proto = "tcp"                  # tcp | udp; default tcp
//	listen = "127.0.0.1:8081"
//	target = "100.64.0.2:80"
//	[[proxy.expose]]               # zero or more: mesh port → local service
//	proto = "tcp"
//	port = 80
//	target = "127.0.0.1:8000"
//
//	[routing]                      # local choices; the signed membership decides what is possible
//	accept_routes = true           # route the prefixes subnet routers (tag "router") serve through them
//	exit_node = ""                 # id of a node tagged "exit" to send internet traffic through
//	serve = true                   # forward for peers what this node's signed record allows (tags "router", "exit")
//	masquerade = true              # source-NAT forwarded traffic to this host's address (wgtun, wgkernel)
//
//	[control]
//	socket = ""                    # default: /run/rustynet/control.sock for root on Linux (core/paths), else
//	                               # $XDG_RUNTIME_DIR/rustynet/control.sock, else <state_dir>.sock (never inside
//	                               # state_dir); \\.\pipe\rustynet on Windows
//	group = ""                     # Unix group allowed besides root and the daemon's own uid
//
//	[daemon]
//	exit_on_broken_plugin = false  # true: `rustynet daemon` exits (status 3) once a plugin crash-loops (its
//	                               # breaker opens), for a service manager to restart the node; false: keep
//	                               # running, report the node degraded and retry the plugin for ever (the
//	                               # retry interval doubles up to 5 minutes)
//
//	[log]
//	level = "info"                 # debug | info | warn | error
//	format = "text"                # text (slog key=value) | json (one object per line); under systemd
//	                               # (JOURNAL_STREAM) each line also starts with its syslog priority, <3>…<7>
//
//	[metrics]                      # opt-in: Prometheus metrics at /metrics and a health check at /healthz
//	listen = ""                    # e.g. "127.0.0.1:9464"; "" serves nothing
//	allow_non_loopback = false     # true: listen may be a non-loopback address
//
// Without --config, `rustynet daemon` reads the layout's configuration
// file: /etc/rustynet/rustynet.toml for root on Linux (see core/paths for
// every platform), else $XDG_CONFIG_HOME/rustynet/rustynet.toml.
//
// Parse and Load look at nothing but the configuration text; Validate checks
// the files the configuration names (existence, the private key's mode, the
// control group). Load reads only a regular file of at most MaxFileBytes,
// and ReadPrivateKey one of at most MaxKeyFileBytes (internal/inputfile):
// `--config /dev/zero` or a FIFO is refused at once, naming the file.
package config
