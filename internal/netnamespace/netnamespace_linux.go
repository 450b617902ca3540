package netnamespace

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// New creates a network namespace with its loopback up and returns a
// handle on it. The namespace goes away once the handle is closed and no
// process runs in it, so nothing is left behind even by a process that is
// killed. It needs CAP_SYS_ADMIN.
func New() (netns.NsHandle, error) {
	type result struct {
		ns  netns.NsHandle
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: err}
			return
		}
		defer orig.Close()
		ns, err := netns.New() // unshare: this thread is now inside
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("new network namespace: %w", err)}
			return
		}
		if err := netns.Set(orig); err != nil {
			// The thread is stranded in the new namespace: it ends with
			// this goroutine, still locked.
			ns.Close()
			done <- result{err: fmt.Errorf("returning to the original namespace: %w", err)}
			return
		}
		runtime.UnlockOSThread()
		done <- result{ns: ns}
	}()
	r := <-done
	if r.err != nil {
		return 0, r.err
	}
	if err := loopbackUp(r.ns); err != nil {
		r.ns.Close()
		return 0, err
	}
	return r.ns, nil
}

// loopbackUp brings the loopback interface of ns up.
func loopbackUp(ns netns.NsHandle) error {
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink in the new namespace: %w", err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err == nil {
		err = h.LinkSetUp(lo)
	}
	if err != nil {
		return fmt.Errorf("bringing lo up in the new namespace: %w", err)
	}
	return nil
}

// Do runs fn on an OS thread that has entered ns and returns fn's error,
// once the thread has left ns again; a panic in fn is re-raised in the
// caller.
//
// The thread goes back to its own namespace before it is returned to the
// scheduler. It is not left to die instead: a thread that exits fires the
// parent-death signal of every child process it ever started (Go may have
// started any child on any of its threads), which would kill plugin
// processes the caller launched. Only if going back fails does the thread
// stay locked and end with fn's goroutine.
func Do(ns netns.NsHandle, fn func() error) error {
	type result struct {
		err   error
		panic any
	}
	done := make(chan result, 1)
	go func() {
		var r result
		// Sent last, once the thread is back in its own namespace: the
		// caller never runs on while a thread of the process is still
		// inside ns.
		defer func() { done <- r }()
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			r.err = fmt.Errorf("this thread's namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			runtime.UnlockOSThread()
			r.err = fmt.Errorf("entering namespace: %w", err)
			return
		}
		defer func() {
			if netns.Set(orig) == nil {
				runtime.UnlockOSThread()
			}
		}()
		defer func() {
			if p := recover(); p != nil {
				r.panic = p
			}
		}()
		r.err = fn()
	}()
	r := <-done
	if r.panic != nil {
		panic(r.panic)
	}
	return r.err
}

// ErrNoVeth is returned by Join when the kernel cannot create veth pairs.
var ErrNoVeth = errors.New("this kernel cannot create veth pairs to join namespaces (load the veth module)")

// End is one end of a veth pair: its namespace, its interface's name and
// address, and, if valid, the one address it reaches by a host route (for
// an end whose address is a host address).
type End struct {
	NS   netns.NsHandle
	Name string
	Addr netip.Prefix
	Peer netip.Addr
}

// Join joins the namespaces of a and b with a veth pair named a.Name and
// b.Name, gives each end its address (and host route), and brings both up.
// The pair goes away with either namespace, or when one end is deleted.
func Join(a, b End) error {
	ha, err := netlink.NewHandleAt(a.NS, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer ha.Close()
	hb, err := netlink.NewHandleAt(b.NS, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer hb.Close()
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: a.Name}, PeerName: b.Name, PeerNamespace: netlink.NsFd(int(b.NS))}
	if err := ha.LinkAdd(veth); errors.Is(err, unix.EOPNOTSUPP) {
		return fmt.Errorf("%w: %v", ErrNoVeth, err)
	} else if err != nil {
		return fmt.Errorf("creating a veth pair between the namespaces: %w", err)
	}
	for _, end := range []struct {
		h *netlink.Handle
		End
	}{{ha, a}, {hb, b}} {
		if err := setUp(end.h, end.End); err != nil {
			return err
		}
	}
	return nil
}

// setUp gives end's interface, in h's namespace, its address (and host
// route) and brings it up.
func setUp(h *netlink.Handle, end End) error {
	link, err := h.LinkByName(end.Name)
	if err != nil {
		return err
	}
	if err := h.AddrAdd(link, &netlink.Addr{IPNet: PrefixIPNet(end.Addr)}); err != nil {
		return fmt.Errorf("address %s on %s: %w", end.Addr, end.Name, err)
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("bringing %s up: %w", end.Name, err)
	}
	if end.Peer.IsValid() {
		r := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: PrefixIPNet(netip.PrefixFrom(end.Peer, end.Peer.BitLen())), Scope: netlink.SCOPE_LINK}
		if err := h.RouteAdd(r); err != nil {
			return fmt.Errorf("route to %s on %s: %w", end.Peer, end.Name, err)
		}
	}
	return nil
}

// PrefixIPNet is p in the form netlink takes: the address with its prefix
// length (not masked).
func PrefixIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
