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
	"github.com/rustynet/rustynet/plugins/internal/hostroute"
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
	cfg     hostapi.InterfaceConfig // last applied
	uapi    *uapiServer             // nil unless cfg.UAPI
	routing *routing                // routes into the interface, and its gateway
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

	// Addresses and MTU need no undo: closing the TUN device removes the
	// interface and everything on it.
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

	r, err := openRouting(ctx, link, real, dev, cfg.Addresses, cfg.Gateway, log)
	if err != nil {
		return nil, err
	}
	undo.push(func() { r.close() })

	ifc := &iface{
		log:       log,
		dev:       dev,
		link:      link,
		name:      real,
		requested: cfg.Name,
		cfg:       cfg,
		routing:   r,
	}
	ifc.cfg.Gateway = hostroute.CloneGateway(cfg.Gateway) // the caller's may change
	ifc.key.Store(&cfg.PrivateKey)
	if cfg.UAPI {
		if ifc.uapi, err = startUAPI(real, ifc.uapiState, log); err != nil {
			return nil, err
		}
	}
	log.Info("interface created", "name", real, "addresses", cfg.Addresses, "mtu", mtuOf(cfg), "uapi", cfg.UAPI, "gateway", cfg.Gateway != nil)
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
		if err := ifc.routing.setAddresses(ctx, cfg.Addresses); err != nil {
			return err
		}
		undo.push(func() { ifc.logUndo("routes", ifc.routing.setAddresses(context.WithoutCancel(ctx), old.Addresses)) })
	}

	if !hostroute.SameGateway(cfg.Gateway, old.Gateway) {
		if err := ifc.routing.setGateway(ctx, cfg.Gateway); err != nil {
			return err
		}
		undo.push(func() { ifc.logUndo("gateway", ifc.routing.setGateway(context.WithoutCancel(ctx), old.Gateway)) })
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

	cfg.Gateway = hostroute.CloneGateway(cfg.Gateway)
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

// state reads the device back and reports, of the configured addresses,
// those present on the interface now, and the routes in effect.
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
	if st.Routes, err = ifc.routing.routes(ctx); err != nil {
		return hostapi.InterfaceState{}, err
	}
	return st, nil
}

// uapiState is what the UAPI socket serves.
func (ifc *iface) uapiState() (hostapi.PrivateKey, hostapi.InterfaceState, error) {
	st, err := ifc.dev.State()
	return *ifc.key.Load(), st, err
}

// close removes what the interface's routing added outside it, then the
// interface, and releases everything.
func (ifc *iface) close() error {
	if ifc.uapi != nil {
		ifc.uapi.close()
	}
	rerr := ifc.routing.close()
	err := errors.Join(ifc.dev.Close(), rerr)
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
