//go:build !linux

package wgtun

import (
	"fmt"
	"net"
	"net/netip"
)

// interfaceAddresses lists the addresses of the named interface through
// the net package.
func interfaceAddresses(name string) ([]netip.Prefix, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, err
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil, fmt.Errorf("addresses of %s: %w", name, err)
	}
	out := make([]netip.Prefix, 0, len(addrs))
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if p, ok := prefixOf(n); ok {
				out = append(out, p)
			}
		}
	}
	return out, nil
}
