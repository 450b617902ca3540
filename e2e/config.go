package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rustynet/rustynet/core/membership"
)

// NodeConfig is how a node's daemon is configured and run. The zero value
// is a rootless node: netstack backend, file store, a SOCKS5 proxy, and the
// node's web service exposed on its mesh address, port 80.
type NodeConfig struct {
	Store   string // "file" (default) or "sqlite"
	Backend string // "netstack" (default), "auto", "wgtun" or "wgkernel"
	// NoProxy configures no proxy: no SOCKS5 listener (for netstack and
	// auto, socks5 = "" overrides the default 127.0.0.1:1080; for wgtun and
	// wgkernel, which may have no [proxy] table, the table is left out), no
	// exposed service.
	NoProxy bool
	// Feed is a feed directory (membership.feed); FeedInterval its polling
	// interval (default 100ms when Feed is set).
	Feed         string
	FeedInterval time.Duration
	// FeedMirrors are further locations of the feed
	// (membership.feed_mirrors).
	FeedMirrors []string
	// NoGenesisFile leaves membership.genesis_file out: the node, pinned by
	// the genesis root alone, takes its genesis from the feed.
	NoGenesisFile bool
	// Genesis replaces the cluster's genesis (a rogue node's own network).
	Genesis *membership.SignedUpdate
	// SyncInterval is membership.sync_interval, the rounds of the exchange
	// of heads with peers; 0 means 1s. NoSync turns the exchange off
	// (sync_port = 0), for a node that must stay as it is told.
	SyncInterval time.Duration
	NoSync       bool
	// MaxUpdateAge is membership.max_update_age (0: not set).
	MaxUpdateAge time.Duration
	// Proxy is TOML added to the [proxy] table of a node with a proxy (not
	// NoProxy): keys such as http or username, and [[proxy.forward]]
	// tables, after which the node's expose follows.
	Proxy string
	// Extra is TOML appended to the configuration as it is.
	Extra string
	// RunAs runs the daemon as another user; its files are given to it.
	RunAs *Identity
	// PrivateNetwork runs the daemon in a network namespace of its own
	// (Linux, root), which disappears with its processes.
	PrivateNetwork bool
	// Netns runs the daemon inside this named network namespace (as `ip
	// netns` knows it; Linux, root), e.g. one of internal/netnstest.
	Netns string
	// Interface is backend.interface ("" lets the backend choose). Daemons
	// with OS interfaces in different namespaces of one host need distinct
	// names: wgtun's UAPI socket (/var/run/wireguard/NAME.sock) is not per
	// namespace.
	Interface string
}

// Identity is a Unix user and group.
type Identity struct{ UID, GID uint32 }

// writeFiles writes the node's key, genesis (if its own) and
// configuration, and returns the configuration's text.
func (n *Node) writeFiles(cfg NodeConfig) (string, error) {
	if err := os.MkdirAll(n.Dir, 0o700); err != nil {
		return "", err
	}
	keyFile := filepath.Join(n.Dir, "node.key")
	if err := os.WriteFile(keyFile, []byte(n.Key.Base64()+"\n"), 0o600); err != nil {
		return "", err
	}
	genesisFile, root := n.c.genesisFile(), n.c.GenesisRoot
	if cfg.Genesis != nil {
		genesisFile, root = filepath.Join(n.Dir, "genesis.json"), cfg.Genesis.Body.NewStateRoot
		if err := os.WriteFile(genesisFile, cfg.Genesis.Encode(), 0o600); err != nil {
			return "", err
		}
	}
	if cfg.Store == "" {
		cfg.Store = "file"
	}
	if cfg.Backend == "" {
		cfg.Backend = "netstack"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[node]\nid = %q\nprivate_key_file = %q\nstate_dir = %q\nhigh_water_file = %q\n\n",
		n.ID, keyFile, n.StateDir, n.HighWater)
	if cfg.NoGenesisFile {
		fmt.Fprintf(&b, "[membership]\ngenesis_root = %q\n", root.String())
	} else {
		fmt.Fprintf(&b, "[membership]\ngenesis_file = %q\ngenesis_root = %q\n", genesisFile, root.String())
	}
	if cfg.Feed != "" {
		if cfg.FeedInterval == 0 {
			cfg.FeedInterval = 100 * time.Millisecond
		}
		fmt.Fprintf(&b, "feed = %q\nfeed_interval = %q\n", cfg.Feed, cfg.FeedInterval.String())
		if len(cfg.FeedMirrors) > 0 {
			q := make([]string, len(cfg.FeedMirrors))
			for i, m := range cfg.FeedMirrors {
				q[i] = fmt.Sprintf("%q", m)
			}
			fmt.Fprintf(&b, "feed_mirrors = [%s]\n", strings.Join(q, ", "))
		}
	}
	if cfg.MaxUpdateAge > 0 {
		fmt.Fprintf(&b, "max_update_age = %q\n", cfg.MaxUpdateAge.String())
	}
	switch {
	case cfg.NoSync:
		b.WriteString("sync_port = 0\n")
	default:
		if cfg.SyncInterval == 0 {
			cfg.SyncInterval = time.Second
		}
		fmt.Fprintf(&b, "sync_interval = %q\n", cfg.SyncInterval.String())
	}
	fmt.Fprintf(&b, "\n[store]\nkind = %q\n\n[backend]\nkind = %q\nlisten_port = %d\n", cfg.Store, cfg.Backend, n.Port)
	if cfg.Interface != "" {
		fmt.Fprintf(&b, "interface = %q\n", cfg.Interface)
	}
	b.WriteString("\n")
	switch {
	case cfg.NoProxy && (cfg.Backend == "wgtun" || cfg.Backend == "wgkernel"):
		// These kinds must not have a [proxy] table at all.
	case cfg.NoProxy:
		b.WriteString("[proxy]\nsocks5 = \"\"\n\n") // the default is 127.0.0.1:1080
	default:
		fmt.Fprintf(&b, "[proxy]\nsocks5 = %q\n%s\n[[proxy.expose]]\nproto = \"tcp\"\nport = 80\ntarget = %q\n\n", n.SOCKS, cfg.Proxy, n.Web)
	}
	fmt.Fprintf(&b, "[control]\nsocket = %q\n\n[log]\nlevel = \"info\"\n", n.Socket)
	b.WriteString(cfg.Extra)
	if err := os.WriteFile(n.Config, []byte(b.String()), 0o600); err != nil {
		return "", err
	}
	if cfg.RunAs != nil {
		owned := []string{n.Dir, keyFile, n.Config}
		if cfg.Genesis != nil {
			owned = append(owned, genesisFile)
		}
		for _, p := range owned {
			if err := os.Lchown(p, int(cfg.RunAs.UID), int(cfg.RunAs.GID)); err != nil {
				return "", err
			}
		}
	}
	return b.String(), nil
}
