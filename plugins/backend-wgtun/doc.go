// Package wgtun is the wgtun backend: wireguard-go on a real TUN device of
// the operating system — /dev/net/tun on Linux, utun on macOS, Wintun on
// Windows. It assigns the node's addresses and MTU, brings the interface up,
// installs routes into it, and can expose a UAPI socket so that
// `wg show` from wireguard-tools reads the interface.
//
// Lifecycle: New → Probe (optional) → Configure, which creates the
// interface → ApplyPeers, RemovePeers, State, SetRoutes and later Configure
// calls, concurrently if need be → Close, which removes the interface.
// Peers are driven through plugins/internal/wgdev, shared with the netstack
// backend; this package owns the TUN device and the operating system's view
// of it.
//
// The backend acts in the network namespace of its process: run it in a
// namespace by starting the process there (`ip netns exec`), not by moving
// one thread, because wireguard-go opens its UDP sockets from its own
// goroutines whenever the interface comes up.
package wgtun
