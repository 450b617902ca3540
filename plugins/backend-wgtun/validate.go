package wgtun

import (
	"net/netip"
	"slices"

	"github.com/rustynet/rustynet/hostapi"
)

const (
	defaultMTU = 1420  // InterfaceConfig.MTU 0 means this
	minMTU     = 576   // the least every IPv4 host must accept
	minMTUIPv6 = 1280  // the least IPv6 allows on a link
	maxMTU     = 65535 // the largest IP packet
)

// validateConfig rejects, before anything is created or changed, a
// configuration this backend cannot apply.
func validateConfig(cfg hostapi.InterfaceConfig) error {
	if cfg.Proxy != nil {
		return hostapi.Errorf(hostapi.CodeUnsupported, "wgtun has no proxies; the netstack backend does")
	}
	if cfg.PrivateKey.IsZero() {
		return hostapi.Errorf(hostapi.CodeInvalidArgument, "zero private key")
	}
	if err := validateName(cfg.Name); err != nil {
		return err
	}
	if cfg.Gateway != nil {
		if !capabilities.Has(hostapi.BackendCapGateway) {
			return errNoGateway()
		}
		if err := hostapi.CheckGateway(*cfg.Gateway); err != nil {
			return err
		}
	}
	hasIPv6 := false
	for i, p := range cfg.Addresses {
		a := p.Addr()
		if !p.IsValid() || a.IsUnspecified() || a.IsMulticast() || a.Is4In6() {
			return hostapi.Errorf(hostapi.CodeInvalidArgument, "invalid interface address %v", p)
		}
		if slices.ContainsFunc(cfg.Addresses[:i], func(q netip.Prefix) bool { return q.Addr() == a }) {
			return hostapi.Errorf(hostapi.CodeInvalidArgument, "interface address %v given twice", a)
		}
		hasIPv6 = hasIPv6 || a.Is6()
	}
	if cfg.MTU != 0 {
		least := minMTU
		if hasIPv6 {
			least = minMTUIPv6
		}
		if cfg.MTU < least || cfg.MTU > maxMTU {
			return hostapi.Errorf(hostapi.CodeInvalidArgument, "MTU %d: want 0 (for %d) or %d to %d", cfg.MTU, defaultMTU, least, maxMTU)
		}
	}
	return nil
}

// mtuOf is the MTU cfg asks for.
func mtuOf(cfg hostapi.InterfaceConfig) int {
	if cfg.MTU == 0 {
		return defaultMTU
	}
	return cfg.MTU
}

// errNoGateway is the error for a gateway where wgtun cannot serve one.
func errNoGateway() error {
	return hostapi.Errorf(hostapi.CodeUnsupported, "wgtun serves as a gateway on Linux only")
}
