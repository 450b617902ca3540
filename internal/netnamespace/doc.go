// Package netnamespace makes Linux network namespaces, runs code inside
// them and joins them with veth pairs, over netlink and setns alone (no
// iproute2, so it works in a minimal VM) and without package testing: the
// conformance suite's Namespaces topology uses it directly, and
// internal/netnstest is its wrapper for tests. Namespaces are held by
// vishvananda/netns handles.
//
// Code run with Do executes on an OS thread that has entered the
// namespace and leaves it afterwards: sockets and netlink handles it opens
// belong to the namespace for their whole life, and processes it starts
// run there. Goroutines it starts do not inherit the namespace.
//
// Network namespaces exist only on Linux; elsewhere the package is empty.
package netnamespace
