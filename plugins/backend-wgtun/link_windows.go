package wgtun

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"unicode/utf16"

	"golang.org/x/sys/windows"
	"golang.zx2c4.com/wireguard/tun"
	"golang.zx2c4.com/wireguard/windows/tunnel/winipcfg"
)

// defaultName is the Wintun adapter's name when none is given.
const defaultName = "Rustynet"

// maxNameLen is the longest adapter name Wintun accepts (MAX_ADAPTER_NAME
// is 128 UTF-16 units including the terminator).
const maxNameLen = 127

func validateName(name string) error {
	if len(utf16.Encode([]rune(name))) > maxNameLen {
		return invalidName(name)
	}
	return nil
}

// osLink is Windows's side of the Wintun adapter, changed through the IP
// Helper API (winipcfg), as wireguard-windows does.
type osLink struct {
	name string
	tun  *tun.NativeTun
	luid winipcfg.LUID
}

func openLink(_ context.Context, dev tun.Device) (*osLink, error) {
	nt, ok := dev.(*tun.NativeTun)
	if !ok {
		return nil, fmt.Errorf("TUN device is a %T, not a Wintun adapter", dev)
	}
	name, err := nt.Name()
	if err != nil {
		return nil, err
	}
	return &osLink{name: name, tun: nt, luid: winipcfg.LUID(nt.LUID())}, nil
}

// setMTU sets the MTU of both address families (an absent family, e.g.
// IPv6 disabled, is skipped) and tells wireguard-go.
func (l *osLink) setMTU(_ context.Context, mtu int) error {
	for _, family := range []winipcfg.AddressFamily{windows.AF_INET, windows.AF_INET6} {
		row, err := l.luid.IPInterface(family)
		if errors.Is(err, windows.ERROR_NOT_FOUND) {
			continue
		}
		if err != nil {
			return err
		}
		row.NLMTU = uint32(mtu)
		if err := row.Set(); err != nil {
			return err
		}
	}
	l.tun.ForceMTU(mtu)
	return nil
}

// up has nothing to do: a Wintun adapter is up while its session runs.
func (l *osLink) up(context.Context) error { return nil }

func (l *osLink) addAddress(_ context.Context, p netip.Prefix) error {
	return l.luid.AddIPAddress(p)
}

func (l *osLink) delAddress(_ context.Context, p netip.Prefix) error {
	return ignoreNotFound(l.luid.DeleteIPAddress(p))
}

// onLink is the next hop of a route into the adapter itself.
func onLink(p netip.Prefix) netip.Addr {
	if p.Addr().Is4() {
		return netip.IPv4Unspecified()
	}
	return netip.IPv6Unspecified()
}

func (l *osLink) addRoute(_ context.Context, p netip.Prefix) error {
	err := l.luid.AddRoute(p, onLink(p), 0)
	if errors.Is(err, windows.ERROR_OBJECT_ALREADY_EXISTS) {
		return nil
	}
	return err
}

func (l *osLink) delRoute(_ context.Context, p netip.Prefix) error {
	return ignoreNotFound(l.luid.DeleteRoute(p, onLink(p)))
}

func (l *osLink) addresses(context.Context) ([]netip.Prefix, error) {
	return interfaceAddresses(l.name)
}

// close has nothing to release: the adapter goes with the TUN device.
func (l *osLink) close() {}

func ignoreNotFound(err error) error {
	if errors.Is(err, windows.ERROR_NOT_FOUND) {
		return nil
	}
	return err
}
