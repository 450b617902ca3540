package wgdev

import (
	"sync"

	"github.com/rustynet/rustynet/hostapi"
)

// readGroup coalesces concurrent reads of the device. A read asked for
// while another runs waits for it to end and then runs once for every
// caller that arrived meanwhile. So every caller gets a result read after
// it asked (a State that follows a change sees the change), and at most one
// read runs at a time however many callers there are: a read holds
// wireguard-go's configuration lock, which every change needs, and with
// five clients reading status a change would otherwise wait for five
// serialisations of the device instead of at most one.
//
// Callers of one read share its result, whose slices they must not modify.
type readGroup struct {
	mu   sync.Mutex
	next *readCall // guarded by mu: the read that callers arriving now join

	run sync.Mutex // held while a read runs; lock order: run, then mu
}

// readCall is one read and its result, all guarded by readGroup.run.
type readCall struct {
	done bool
	st   hostapi.InterfaceState
	err  error
}

// do returns the result of a read that began after do was called: read's
// own, or that of a concurrent caller's.
func (g *readGroup) do(read func() (hostapi.InterfaceState, error)) (hostapi.InterfaceState, error) {
	g.mu.Lock()
	c := g.next
	if c == nil {
		c = new(readCall)
		g.next = c
	}
	g.mu.Unlock()

	g.run.Lock()
	defer g.run.Unlock()
	if !c.done {
		// The first of c's callers to get here runs c; from now on new
		// callers join a read that starts after it.
		g.mu.Lock()
		if g.next == c {
			g.next = nil
		}
		g.mu.Unlock()
		c.st, c.err = read()
		c.done = true
	}
	return c.st, c.err
}
