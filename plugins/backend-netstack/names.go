package netstack

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/rustynet/rustynet/hostapi"
)

// meshNames are the mesh's own names (hostapi.ProxyConfig.Hosts and
// Domain), which the proxies and forwards resolve before asking DNS. It
// is immutable once built; Configure replaces it whole.
type meshNames struct {
	addrs  map[string][]netip.Addr // by lower-case name
	suffix string                  // "." + the lower-case domain, or ""
}

// newMeshNames indexes hosts; they must have passed checkHosts.
func newMeshNames(hosts []hostapi.Host, domain string) *meshNames {
	n := &meshNames{addrs: make(map[string][]netip.Addr, len(hosts))}
	for _, h := range hosts {
		addrs := make([]netip.Addr, len(h.Addrs))
		for i, a := range h.Addrs {
			addrs[i] = a.Unmap()
		}
		n.addrs[strings.ToLower(h.Name)] = addrs
	}
	if domain != "" {
		n.suffix = "." + strings.ToLower(domain)
	}
	return n
}

// lookup returns the addresses of name, matched without regard to case
// and to one trailing dot: the name itself, else, for "<host>.<domain>",
// host. The caller must not modify them.
func (n *meshNames) lookup(name string) ([]netip.Addr, bool) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if addrs, ok := n.addrs[name]; ok {
		return addrs, true
	}
	if n.suffix == "" {
		return nil, false
	}
	host, ok := strings.CutSuffix(name, n.suffix)
	if !ok {
		return nil, false
	}
	addrs, ok := n.addrs[host]
	return addrs, ok
}

// checkHosts checks the names table of a proxy configuration: valid names,
// each once whatever its case, each with addresses a connection can be
// made to.
func checkHosts(hosts []hostapi.Host, domain string) error {
	seen := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		if err := hostapi.CheckHostName(h.Name); err != nil {
			return err
		}
		key := strings.ToLower(h.Name)
		if seen[key] {
			return fmt.Errorf("host %s is named twice", h.Name)
		}
		seen[key] = true
		if len(h.Addrs) == 0 {
			return fmt.Errorf("host %s has no address", h.Name)
		}
		for _, a := range h.Addrs {
			if !usableTarget(netip.AddrPortFrom(a, 1)) {
				return fmt.Errorf("host %s: address %s cannot be connected to", h.Name, a)
			}
		}
	}
	if domain != "" {
		return hostapi.CheckHostName(domain)
	}
	return nil
}
