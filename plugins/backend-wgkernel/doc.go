// Package wgkernel is the Rustynet data-plane backend for Linux kernel
// WireGuard. It creates the interface over rtnetlink
// (github.com/vishvananda/netlink), configures it over WireGuard's generic
// netlink family (golang.zx2c4.com/wireguard/wgctrl), and sets addresses,
// MTU and routes over rtnetlink. It implements hostapi.Backend.
//
// Peers are applied by difference: a peer that is updated keeps its
// session. Every change is validated as a whole before the device is
// touched, and a change that fails part-way (the kernel takes large peer
// sets in several netlink messages) is rolled back to the peer set before
// it, so the device never holds a peer the core did not ask for.
//
// The interface survives the plugin's process: a restarted plugin whose
// Configure names an existing WireGuard interface adopts it, peers and
// sessions included, and the core's next difference brings it in line.
// Close removes the interface.
//
// Capabilities: BackendCapPeerStats and BackendCapRoutes. SetFilter is not
// supported yet (it will use nftables), so BackendCapPacketFilter is not
// advertised and SetFilter fails with ErrUnsupported. Kernel WireGuard needs
// no UAPI socket (`wg show` reads the kernel), so InterfaceConfig.UAPI is
// refused like every field the backend does not implement.
//
// On other systems New returns a Backend whose Probe and Configure fail
// with ErrUnsupported.
package wgkernel
