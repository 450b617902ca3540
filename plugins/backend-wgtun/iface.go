package wgtun

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net/netip"
	"slices"
	"sync/atomic"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/plugins/internal/wgdev"
	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/tun"
)

// iface is a created interface: the TUN device driven by a wireguard-go
// device, the operating system's view of it, and the optional UAPI socket.
type iface struct {
	log       *slog.Logger
	dev       *wgdev.Device // owns the TUN device and the bind
	link      *osLink
	name      string // the interface's real name
	requested string // the Name it was created with ("" for the default)

	key atomic.Pointer[hostapi.PrivateKey] // current private key, for the UAPI socket

	// Guarded by Backend.osMu.
	cfg        hostapi.InterfaceConfig // last applied
	uapi       *uapiServer             // nil unless cfg.UAPI
	wantRoutes []netip.Prefix          // as last given to SetRoutes
	installed  map[netip.Prefix]bool   // routes this backend installed
}

// createIface creates the interface for cfg (already validated). On error
// everything it made is gone again.
func createIface(ctx context.Context, cfg hostapi.InterfaceConfig, log *slog.Logger) (_ *iface, err error) {
	var undo undoStack
	defer func() {
		if err != nil {
			undo.run()
		}
	}()

	name := cfg.Name
	if name == "" {
		name = defaultName
	}
	tdev, err := tun.CreateTUN(name, mtuOf(cfg))
	if err != nil {
		return nil, tunError(err)
	}
	tunOwned := true // until wgdev owns it
	undo.push(func() {
		if tunOwned {
			tdev.Close()
		}
	})
	real, err := tdev.Name()
	if err != nil {
		return nil, hostapi.Errorf(hostapi.CodeInternal, "read TUN name: %v", err)
	}
	link, err := openLink(ctx, tdev)
	if err != nil {
		return nil, osError("open interface "+real, err)
	}
	undo.push(func() { link.close() })

	// Addresses, MTU and routes need no undo: closing the TUN device removes
	// the interface and everything on it.
	if err := link.setMTU(ctx, mtuOf(cfg)); err != nil {
		return nil, osError("set MTU", err)
	}
	for _, a := range cfg.Addresses {
		if err := link.addAddress(ctx, a); err != nil {
			return nil, osError("add address "+a.String(), err)
		}
	}
	if err := link.up(ctx); err != nil {
		return nil, osError("bring "+real+" up", err)
	}

	dev := wgdev.New(tdev, conn.NewDefaultBind(), log)
	tunOwned = false
	undo.push(func() { dev.Close() })
	if err := dev.Configure(cfg); err != nil {
		return nil, err
	}

	ifc := &iface{
		log:       log,
		dev:       dev,
		link:      link,
		name:      real,
		requested: cfg.Name,
		cfg:       cfg,
		installed: map[netip.Prefix]bool{},
	}
	ifc.key.Store(&cfg.PrivateKey)
	if cfg.UAPI {
		if ifc.uapi, err = startUAPI(real, ifc.uapiState, log); err != nil {
			return nil, err
		}
	}
	log.Info("interface created", "name", real, "addresses", cfg.Addresses, "mtu", mtuOf(cfg), "uapi", cfg.UAPI)
	return ifc, nil
}

// update changes the interface to cfg (already validated) in place, keeping
// peers. On error it has put everything back.
func (ifc *iface) update(ctx context.Context, cfg hostapi.InterfaceConfig) (err error) {
	if cfg.Name != "" && cfg.Name != ifc.name && cfg.Name != ifc.requested {
		return hostapi.Errorf(hostapi.CodeInvalidArgument, "interface %s cannot be renamed to %s", ifc.name, cfg.Name)
	}
	var undo undoStack
	defer func() {
		if err != nil {
			undo.run()
		}
	}()
	old := ifc.cfg

	st, err := ifc.dev.State()
	if err != nil {
		return err
	}
	if err := ifc.dev.Configure(cfg); err != nil {
		return err
	}
	undo.push(func() {
		back := old
		back.ListenPort = st.ListenPort
		if err := ifc.dev.Configure(back); err != nil {
			ifc.log.Error("restoring the previous key and port failed", "err", err)
		}
	})

	if mtu := mtuOf(cfg); mtu != mtuOf(old) {
		if err := ifc.link.setMTU(ctx, mtu); err != nil {
			return osError("set MTU", err)
		}
		undo.push(func() { ifc.logUndo("MTU", ifc.link.setMTU(context.WithoutCancel(ctx), mtuOf(old))) })
	}

	added, removed := diffPrefixes(cfg.Addresses, old.Addresses)
	for _, a := range added {
		if err := ifc.link.addAddress(ctx, a); err != nil {
			return osError("add address "+a.String(), err)
		}
		undo.push(func() { ifc.logUndo("address", ifc.link.delAddress(context.WithoutCancel(ctx), a)) })
	}
	for _, a := range removed {
		if err := ifc.link.delAddress(ctx, a); err != nil {
			return osError("remove address "+a.String(), err)
		}
		undo.push(func() { ifc.logUndo("address", ifc.link.addAddress(context.WithoutCancel(ctx), a)) })
	}
	if len(added)+len(removed) > 0 {
		if err := ifc.reconcileRoutes(ctx, ifc.wantRoutes, cfg.Addresses, &undo); err != nil {
			return err
		}
	}

	switch {
	case cfg.UAPI && ifc.uapi == nil:
		if ifc.uapi, err = startUAPI(ifc.name, ifc.uapiState, ifc.log); err != nil {
			return err
		}
	case !cfg.UAPI && ifc.uapi != nil:
		ifc.uapi.close()
		ifc.uapi = nil
	}

	ifc.cfg = cfg
	ifc.key.Store(&cfg.PrivateKey)
	return nil
}

// logUndo logs a failure to reverse a step: the device may then differ from
// what the core believes, which an operator must know.
func (ifc *iface) logUndo(what string, err error) {
	if err != nil {
		ifc.log.Error("rolling back a failed change failed", "what", what, "err", err)
	}
}

// setRoutes makes exactly want route into the interface.
func (ifc *iface) setRoutes(ctx context.Context, want []netip.Prefix) error {
	var undo undoStack
	if err := ifc.reconcileRoutes(ctx, want, ifc.cfg.Addresses, &undo); err != nil {
		undo.run()
		return err
	}
	ifc.wantRoutes = want
	return nil
}

// reconcileRoutes installs the routes of want that addrs do not already
// imply and removes the other routes this backend installed, recording how
// to reverse each step in undo.
func (ifc *iface) reconcileRoutes(ctx context.Context, want, addrs []netip.Prefix, undo *undoStack) error {
	implied := impliedRoutes(addrs)
	next := make(map[netip.Prefix]bool, len(want))
	for _, p := range want {
		if !implied[p] {
			next[p] = true
		}
	}
	prev := ifc.installed
	for p := range next {
		if prev[p] {
			continue
		}
		if err := ifc.link.addRoute(ctx, p); err != nil {
			return osError("add route "+p.String(), err)
		}
		undo.push(func() { ifc.logUndo("route", ifc.link.delRoute(context.WithoutCancel(ctx), p)) })
	}
	for p := range prev {
		if next[p] {
			continue
		}
		if err := ifc.link.delRoute(ctx, p); err != nil {
			return osError("remove route "+p.String(), err)
		}
		undo.push(func() { ifc.logUndo("route", ifc.link.addRoute(context.WithoutCancel(ctx), p)) })
	}
	ifc.installed = next
	undo.push(func() { ifc.installed = prev })
	return nil
}

// state reads the device back and reports, of the configured addresses,
// those present on the interface now.
func (ifc *iface) state(ctx context.Context) (hostapi.InterfaceState, error) {
	st, err := ifc.dev.State()
	if err != nil {
		return st, err
	}
	present, err := ifc.link.addresses(ctx)
	if err != nil {
		return hostapi.InterfaceState{}, osError("read addresses", err)
	}
	st.Name = ifc.name
	st.Addresses = slices.DeleteFunc(st.Addresses, func(p netip.Prefix) bool { return !slices.Contains(present, p) })
	return st, nil
}

// uapiState is what the UAPI socket serves.
func (ifc *iface) uapiState() (hostapi.PrivateKey, hostapi.InterfaceState, error) {
	st, err := ifc.dev.State()
	return *ifc.key.Load(), st, err
}

// close removes the interface and releases everything.
func (ifc *iface) close() error {
	if ifc.uapi != nil {
		ifc.uapi.close()
	}
	err := ifc.dev.Close()
	ifc.link.close()
	ifc.log.Info("interface removed", "name", ifc.name)
	return err
}

// diffPrefixes returns the prefixes of want not in have, and of have not in
// want.
func diffPrefixes(want, have []netip.Prefix) (added, removed []netip.Prefix) {
	for _, p := range want {
		if !slices.Contains(have, p) {
			added = append(added, p)
		}
	}
	for _, p := range have {
		if !slices.Contains(want, p) {
			removed = append(removed, p)
		}
	}
	return added, removed
}

// tunError classifies a failure to create the TUN device.
func tunError(err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return hostapi.Errorf(hostapi.CodePermission, "create TUN device: %v (needs root or CAP_NET_ADMIN)", err)
	}
	return hostapi.Errorf(hostapi.CodeUnavailable, "create TUN device: %v", err)
}

// osError wraps a failure of the operating system to change the interface.
func osError(what string, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return hostapi.Errorf(hostapi.CodePermission, "%s: %v", what, err)
	}
	return hostapi.Errorf(hostapi.CodeUnavailable, "%s: %v", what, err)
}
