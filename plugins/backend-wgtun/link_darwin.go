package wgtun

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"

	"golang.zx2c4.com/wireguard/tun"
)

// defaultName lets the kernel pick the first free utunN.
const defaultName = "utun"

// validateName accepts what macOS accepts: utun or utunN.
func validateName(name string) error {
	if name == "" || name == defaultName {
		return nil
	}
	n, ok := strings.CutPrefix(name, "utun")
	if _, err := strconv.ParseUint(n, 10, 16); !ok || err != nil {
		return invalidName(name)
	}
	return nil
}

// osLink is the kernel's side of the utun interface, changed with
// ifconfig(8) and route(8) as wg-quick does on macOS.
type osLink struct {
	name string
}

func openLink(_ context.Context, dev tun.Device) (*osLink, error) {
	name, err := dev.Name()
	if err != nil {
		return nil, err
	}
	return &osLink{name: name}, nil
}

// run runs a system tool and includes its output in the error.
func run(ctx context.Context, tool string, args ...string) error {
	out, err := exec.CommandContext(ctx, tool, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", tool, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (l *osLink) ifconfig(ctx context.Context, args ...string) error {
	return run(ctx, "/sbin/ifconfig", append([]string{l.name}, args...)...)
}

func (l *osLink) setMTU(ctx context.Context, mtu int) error {
	return l.ifconfig(ctx, "mtu", strconv.Itoa(mtu))
}

func (l *osLink) up(ctx context.Context) error { return l.ifconfig(ctx, "up") }

// addAddress assigns p; utun is point-to-point, so the subnet p implies is
// routed into the interface explicitly.
func (l *osLink) addAddress(ctx context.Context, p netip.Prefix) error {
	var err error
	if p.Addr().Is4() {
		err = l.ifconfig(ctx, "inet", p.String(), p.Addr().String(), "alias")
	} else {
		err = l.ifconfig(ctx, "inet6", p.String(), "alias")
	}
	if err != nil || p.Bits() == p.Addr().BitLen() {
		return err
	}
	return l.addRoute(ctx, p.Masked())
}

func (l *osLink) delAddress(ctx context.Context, p netip.Prefix) error {
	if p.Bits() < p.Addr().BitLen() {
		if err := l.delRoute(ctx, p.Masked()); err != nil {
			return err
		}
	}
	if p.Addr().Is4() {
		return l.ifconfig(ctx, "inet", p.Addr().String(), "-alias")
	}
	return l.ifconfig(ctx, "inet6", p.Addr().String(), "-alias")
}

func family(p netip.Prefix) string {
	if p.Addr().Is4() {
		return "-inet"
	}
	return "-inet6"
}

func (l *osLink) addRoute(ctx context.Context, p netip.Prefix) error {
	return run(ctx, "/sbin/route", "-q", "-n", "add", family(p), p.String(), "-interface", l.name)
}

func (l *osLink) delRoute(ctx context.Context, p netip.Prefix) error {
	return run(ctx, "/sbin/route", "-q", "-n", "delete", family(p), p.String(), "-interface", l.name)
}

func (l *osLink) addresses(context.Context) ([]netip.Prefix, error) {
	return interfaceAddresses(l.name)
}

// close has nothing to release: the interface goes with the utun socket.
func (l *osLink) close() {}
