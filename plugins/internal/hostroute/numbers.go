package hostroute

import (
	"fmt"

	"github.com/rustynet/rustynet/hostapi"
)

// The numbers that identify what a Link installs.
const (
	// Protocol is the routing protocol number (rtm_protocol for routes,
	// FRA_PROTOCOL for policy rules) on everything a Link installs, and
	// the tag by which it knows its own. It is registered neither in the
	// kernel's rtnetlink.h nor in iproute2's rt_protos.
	Protocol = 77
	// Metric is the metric of every route a Link installs: higher than
	// the kernel's and common tools' defaults (IPv4 0, IPv6 256 and 1024,
	// DHCP clients up to 1024), so that on a prefix both route, the host's
	// own route wins and neither is in the other's way.
	Metric = 1077

	// MarkBase is the base of the firewall marks and routing tables: the
	// interface with index i uses MarkBase+i as both (MarkOf). It lies
	// above every number iproute2 or common tools reserve (tables 253-255,
	// wg-quick's 51820, Tailscale's 52 and 0xff0000 mark bits).
	MarkBase = 0x52000000
	// maxIndex is the largest interface index MarkOf numbers.
	maxIndex = 1<<24 - 1

	// RulePrioritySuppress is the priority of the rule
	// "not fwmark M lookup main suppress_prefixlength 0", which lets every
	// route of the main table but its default route win.
	RulePrioritySuppress = 32764
	// RulePriorityLookup is the priority of "not fwmark M lookup T", which
	// sends the rest into the tunnel's table. Both come before the main
	// table's own rule (32766), as wg-quick's do.
	RulePriorityLookup = 32765
)

// MarkOf returns the firewall mark of the tunnel's own packets, which is
// also the number of the routing table holding its default routes, for the
// interface with index ifindex. Distinct interfaces of one namespace get
// distinct numbers. An index outside 1 to 2^24-1 fails with
// ErrUnsupported.
func MarkOf(ifindex int) (uint32, error) {
	if ifindex <= 0 || ifindex > maxIndex {
		return 0, hostapi.Errorf(hostapi.CodeUnsupported, "interface index %d is outside 1 to %d, the range of default-route marks", ifindex, maxIndex)
	}
	return MarkBase + uint32(ifindex), nil
}

// TableName is the name of the nftables table (inet family) that holds
// the forwarding rules of the interface called ifname.
func TableName(ifname string) string { return fmt.Sprintf("rustynet-%s", ifname) }
