package wgkernel

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/plugins/internal/hostroute"
)

// Interface defaults and limits.
const (
	// DefaultName is the interface name used when InterfaceConfig.Name is
	// empty.
	DefaultName = "rustynet0"
	// DefaultMTU is the MTU used when InterfaceConfig.MTU is 0.
	DefaultMTU = 1420
	// maxNameLen is IFNAMSIZ less the terminating NUL.
	maxNameLen = 15
	// minMTU is the smallest MTU accepted (IPv4's minimum reassembly size);
	// with an IPv6 address it is minMTUIPv6, IPv6's minimum link MTU.
	minMTU     = 576
	minMTUIPv6 = 1280
	maxMTU     = 65535
)

// ifaceConfig is a validated InterfaceConfig with defaults applied.
type ifaceConfig struct {
	name       string
	privateKey hostapi.PrivateKey // zero: no identity (no handshakes) yet
	listenPort uint16             // 0: the kernel chooses (first call) or unchanged
	addresses  []netip.Prefix
	mtu        int
	gateway    *hostapi.GatewayConfig // nil: forward nothing; a copy of the caller's
}

// checkInterface validates cfg and applies defaults. It fails with
// ErrUnsupported for fields this backend cannot honour and with
// ErrInvalidArgument for bad values.
func checkInterface(cfg hostapi.InterfaceConfig) (ifaceConfig, error) {
	if cfg.Proxy != nil {
		return ifaceConfig{}, hostapi.Errorf(hostapi.CodeUnsupported, "wgkernel: proxies and forwards need a userspace stack (netstack backend)")
	}
	if cfg.UAPI {
		return ifaceConfig{}, hostapi.Errorf(hostapi.CodeUnsupported, "wgkernel: kernel WireGuard has no UAPI socket; `wg show` reads the kernel directly, leave UAPI off")
	}
	if cfg.Gateway != nil {
		if err := hostapi.CheckGateway(*cfg.Gateway); err != nil {
			return ifaceConfig{}, err
		}
	}
	c := ifaceConfig{
		name:       cfg.Name,
		privateKey: cfg.PrivateKey,
		listenPort: cfg.ListenPort,
		mtu:        cfg.MTU,
		gateway:    hostroute.CloneGateway(cfg.Gateway),
	}
	if c.name == "" {
		c.name = DefaultName
	}
	if err := checkName(c.name); err != nil {
		return ifaceConfig{}, err
	}
	hasIPv6 := false
	for _, a := range cfg.Addresses {
		if !a.IsValid() || a.Addr().Is4In6() {
			return ifaceConfig{}, hostapi.Errorf(hostapi.CodeInvalidArgument, "wgkernel: invalid interface address %q", a)
		}
		if slices.Contains(c.addresses, a) {
			return ifaceConfig{}, hostapi.Errorf(hostapi.CodeInvalidArgument, "wgkernel: duplicate interface address %s", a)
		}
		hasIPv6 = hasIPv6 || a.Addr().Is6()
		c.addresses = append(c.addresses, a)
	}
	slices.SortFunc(c.addresses, comparePrefix)
	if c.mtu == 0 {
		c.mtu = DefaultMTU
	}
	low := minMTU
	if hasIPv6 {
		low = minMTUIPv6
	}
	if c.mtu < low || c.mtu > maxMTU {
		return ifaceConfig{}, hostapi.Errorf(hostapi.CodeInvalidArgument, "wgkernel: MTU %d out of range [%d, %d]", c.mtu, low, maxMTU)
	}
	return c, nil
}

// checkName validates a Linux interface name.
func checkName(name string) error {
	bad := len(name) > maxNameLen || name == "." || name == ".." ||
		strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r >= 0x7f || r == '/' || r == ':' })
	if bad {
		return hostapi.Errorf(hostapi.CodeInvalidArgument, "wgkernel: invalid interface name %q: want at most %d printable ASCII characters without '/', ':' or spaces", name, maxNameLen)
	}
	return nil
}

// comparePrefix orders prefixes by address, then by length.
func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}
