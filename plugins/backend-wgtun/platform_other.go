//go:build !linux && !darwin && !windows

package wgtun

import (
	"context"
	"net"
	"net/netip"

	"github.com/rustynet/rustynet/hostapi"
	"golang.zx2c4.com/wireguard/tun"
)

// capabilities: none here, where wgtun cannot configure an interface.
const capabilities hostapi.BackendCapabilities = 0

const defaultName = "wg0"

func unsupported() error {
	return hostapi.Errorf(hostapi.CodeUnsupported, "wgtun supports Linux, macOS and Windows only")
}

func probe() error { return unsupported() }

func validateName(string) error { return unsupported() }

// osLink exists only so that the package compiles here; openLink refuses.
type osLink struct{}

func openLink(context.Context, tun.Device) (*osLink, error)       { return nil, unsupported() }
func (*osLink) setMTU(context.Context, int) error                 { return unsupported() }
func (*osLink) up(context.Context) error                          { return unsupported() }
func (*osLink) addAddress(context.Context, netip.Prefix) error    { return unsupported() }
func (*osLink) delAddress(context.Context, netip.Prefix) error    { return unsupported() }
func (*osLink) addRoute(context.Context, netip.Prefix) error      { return unsupported() }
func (*osLink) delRoute(context.Context, netip.Prefix) error      { return unsupported() }
func (*osLink) addresses(context.Context) ([]netip.Prefix, error) { return nil, unsupported() }
func (*osLink) close()                                            {}

func listenUAPI(string) (net.Listener, error) { return nil, unsupported() }
