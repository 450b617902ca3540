// Package readgroup coalesces concurrent reads of one thing into one read,
// for status: a backend's State holds the device (a lock every change
// needs) and a daemon's status costs both processes CPU at 10,000 peers,
// so with several clients reading status a change waits for, and shares
// the machine with, one read however many clients ask.
package readgroup

import (
	"context"
	"sync"
	"time"
)

// Group coalesces concurrent calls of Do, or of DoContext; a Group is used
// through one of the two (mixed, a Do caller could get the result of a
// read that a DoContext caller's context cut short). A call made while a
// read runs waits for it to end; then one read runs for every call that
// arrived meanwhile. So every caller gets the result of a read that began after
// it called (a read that follows a change sees the change), and at most
// one read runs at a time. The zero Group is ready to use.
//
// Callers of one read share its result: one that holds slices must be
// treated as read-only by all of them.
//
// A Group with Rest set paces its reads as well: after a read that took d,
// the next starts no sooner than Rest(d) after it ended, and calls
// arriving meanwhile join it. Under callers that read back to back this
// bounds the share of time spent reading (Rest(d) = d: half), at the cost
// of their waiting; a call after a quiet spell longer than the rest waits
// for nothing.
type Group[T any] struct {
	// Rest, if not nil, is how long the group rests after a read that
	// took the given time before it starts the next. Set before first use.
	Rest func(took time.Duration) time.Duration

	mu   sync.Mutex
	next *call[T] // guarded by mu: the read that calls arriving now join

	run sync.Mutex // held while a read runs; lock order: run, then mu
	// Guarded by run: when the last read ended and how long it took.
	lastEnd  time.Time
	lastTook time.Duration
	// now and sleep are the clock (nil: time.Now, sleepContext); tests
	// replace them.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration)
}

// call is one read and its result, guarded by Group.run but callers.
type call[T any] struct {
	callers int // guarded by Group.mu: the calls that joined it so far
	sharers int // callers once the read has started: no call joins it after
	done    bool
	v       T
	err     error
	cut     bool // DoContext: the context the read ran under ended before it returned
}

// Do returns the result of a read that began after Do was called: read's
// own, or that of a concurrent caller's read.
func (g *Group[T]) Do(read func() (T, error)) (T, error) {
	c := g.do(context.Background(), func(c *call[T]) { c.v, c.err = read() })
	return c.v, c.err
}

// DoShared is Do for a read that wants to know how many callers its
// result goes to: read is passed their number (1 if only the caller that
// runs it), final before read starts. A read whose result is handed back
// by each of its callers for reuse can count them off.
func (g *Group[T]) DoShared(read func(callers int) (T, error)) (T, error) {
	c := g.do(context.Background(), func(c *call[T]) { c.v, c.err = read(c.sharers) })
	return c.v, c.err
}

// DoContext is Do for a read that takes a context: the read runs under
// the context of the caller that runs it, and a caller it ran for gets
// its result only if that context was still live when it returned, or if
// the caller's own context has ended too. Otherwise the read was cut
// short for a reason that is not the caller's (another request ended
// part-way), and the caller reads again, with whoever is waiting then.
func (g *Group[T]) DoContext(ctx context.Context, read func(context.Context) (T, error)) (T, error) {
	for {
		c := g.do(ctx, func(c *call[T]) {
			c.v, c.err = read(ctx)
			c.cut = ctx.Err() != nil
		})
		if !c.cut || ctx.Err() != nil {
			return c.v, c.err
		}
	}
}

// do joins the next read, or starts it, and returns it once it has run;
// run fills in its result. If it starts the read, it first rests (Rest)
// until ctx ends.
func (g *Group[T]) do(ctx context.Context, run func(*call[T])) *call[T] {
	g.mu.Lock()
	c := g.next
	if c == nil {
		c = new(call[T])
		g.next = c
	}
	c.callers++
	g.mu.Unlock()

	g.run.Lock()
	defer g.run.Unlock()
	if !c.done {
		// The first of c's callers to get here runs it, after the rest;
		// from then on new callers join a read that starts after this one.
		now, sleep := g.now, g.sleep
		if now == nil {
			now = time.Now
		}
		if sleep == nil {
			sleep = sleepContext
		}
		if g.Rest != nil && !g.lastEnd.IsZero() {
			if wait := g.Rest(g.lastTook) - now().Sub(g.lastEnd); wait > 0 {
				sleep(ctx, wait)
			}
		}
		g.mu.Lock()
		if g.next == c {
			g.next = nil
		}
		c.sharers = c.callers
		g.mu.Unlock()
		start := now()
		run(c)
		c.done = true
		g.lastEnd = now()
		g.lastTook = g.lastEnd.Sub(start)
	}
	return c
}

// sleepContext waits for d or until ctx ends.
func sleepContext(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// Waiting returns how many calls wait for the next read to start; for
// tests.
func (g *Group[T]) Waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.next == nil {
		return 0
	}
	return g.next.callers
}

// Hold blocks reads, as a read that does not end would, until the
// returned function is called; for tests.
func (g *Group[T]) Hold() (release func()) {
	g.run.Lock()
	return g.run.Unlock
}
