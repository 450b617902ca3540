package netstack

import (
	"io"
	"net"
)

// closeWriter is a connection that can close its sending half (TCP on the
// host and in gVisor both can).
type closeWriter interface {
	CloseWrite() error
}

// splice copies a to b and b to a until both directions end, then closes
// both. A clean end of one direction is passed on as a half-close; an error
// in either direction aborts both. a and b must be tracked by s, so that
// shutdown ends the copy; they are tagged with the far end of the one in
// the mesh, so that losing its peer ends them (see cut).
func (s *service) splice(a, b net.Conn) {
	s.tagRelay(a, b)
	done := make(chan struct{})
	s.goroutine(func() {
		defer close(done)
		copyHalf(b, a)
	})
	copyHalf(a, b)
	<-done
	a.Close()
	b.Close()
	s.untrack(a)
	s.untrack(b)
}

// copyHalf copies src to dst. At the end of src it closes dst's sending half
// (or all of dst if it cannot half-close) so the far end sees the end of the
// stream; on an error it closes both.
func copyHalf(dst, src net.Conn) {
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		src.Close()
		return
	}
	if cw, ok := dst.(closeWriter); ok {
		_ = cw.CloseWrite()
	} else {
		dst.Close()
	}
}
