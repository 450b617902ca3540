package conformance

// Namespaces returns the Topology of nodes that each have a network
// namespace of their own, created for the case and gone when it ends; a
// pair is joined by a veth pair, 10.99.0.1/24 to 10.99.0.2/24, and a third
// node by a veth to the first, at 10.99.0.3/24. A gateway case adds a
// namespace behind a node (10.212.0.0/24 and 10.217.0.0/24 on a veth, with
// a route back to the mesh through the node). Instances are
// started from a thread inside their namespace, so the plugin process lives
// there; traffic is dialled and served there too. It suits backends with an
// OS interface, which must not share a network to carry traffic between two
// instances. It needs Linux and root (CAP_SYS_ADMIN and CAP_NET_ADMIN), and
// nothing else: no iproute2, so it works in a minimal VM. Elsewhere Nodes
// skips, saying why.
func Namespaces() Topology { return namespaces{} }

type namespaces struct{}
