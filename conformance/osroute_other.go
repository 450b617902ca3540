//go:build !linux

package conformance

import "net/netip"

// Reading and changing a node's routing table is written for Linux only;
// elsewhere the cases that need it skip.

func routeDevice(*Node, netip.Addr) (string, error) {
	return "", Skip("reading the OS routing table is implemented for Linux only")
}

func addForeignRoute(*Node, string, netip.Prefix) error {
	return Skip("adding OS routes is implemented for Linux only")
}

func hasForeignRoute(*Node, string, netip.Prefix) (bool, error) {
	return false, Skip("reading the OS routing table is implemented for Linux only")
}

func linkName(*Node, netip.Addr) (string, error) {
	return "", Skip("reading OS interfaces is implemented for Linux only")
}

func defaultRouteTo(*Node, *Node, netip.Addr) error {
	return Skip("adding OS routes is implemented for Linux only")
}
