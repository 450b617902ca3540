package storerules

import (
	"context"
	"errors"
	"sync"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/plugins/internal/statedir"
)

// state is where a store is in its life: new → open → closed. A failed
// Open leaves it new, so Open may be retried; closed is final.
type state int

const (
	stateNew state = iota
	stateOpen
	stateClosed
)

// Gate is a store's lifecycle and the preamble every method of
// hostapi.Store runs before it touches the store's medium: which state
// admits which call, the CLOSED and CONFLICT errors of the lifecycle, the
// state directory's opening and release, the data and context checks of a
// write, and the serialisation of writes. The zero value, with Info set,
// is a new store's gate.
//
// Open, Close and Truncate hold the gate exclusively; every other call
// holds it shared for its whole run, so Close waits for the calls in
// flight and no call reaches a closed store. Appends are serialised among
// themselves, as are PutSnapshots: each runs alone against the head or
// snapshot it replaces. A Truncate runs alone: no Append or PutSnapshot
// interleaves with its removal, and no read sees a log half removed (an
// entry below the head it loaded already gone).
type Gate struct {
	// Info is what the store's Info answers. Info.Name is also the kind of
	// its state directory (storelayout.File, storelayout.SQLite) and names
	// the store in errors. Set it before first use.
	Info hostapi.StoreInfo

	mu    sync.RWMutex  // see the type's documentation
	state state         // guarded by mu
	dir   *statedir.Dir // the open state directory; guarded by mu

	appendMu sync.Mutex // held across an Append's write
	snapMu   sync.Mutex // held across a PutSnapshot's write
}

// StoreInfo answers Info, which a store answers before Open and while
// open: g.Info, and after Close hostapi.ErrClosed.
func (g *Gate) StoreInfo() (hostapi.StoreInfo, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.state == stateClosed {
		return hostapi.StoreInfo{}, g.errClosed()
	}
	return g.Info, nil
}

// Open opens the state directory cfg.Dir (statedir.Open, in the mode the
// environment asks for) and runs open, which opens the store in it, once:
// on an open store it returns hostapi.ErrConflict, after Close
// hostapi.ErrClosed, with ctx done the UNAVAILABLE of CtxError, all before
// touching the directory. If statedir.Open or open fails, the directory is
// released, the store stays new, and Open may be retried.
func (g *Gate) Open(ctx context.Context, cfg hostapi.StoreConfig, open func(*statedir.Dir) error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch g.state {
	case stateOpen:
		return hostapi.Errorf(hostapi.CodeConflict, "%s store already open at %s", g.Info.Name, g.dir.Path())
	case stateClosed:
		return g.errClosed()
	}
	if err := ctx.Err(); err != nil {
		return CtxError(err)
	}
	d, err := statedir.Open(cfg.Dir, g.Info.Name, statedir.ModeFromEnv())
	if err != nil {
		return err
	}
	if err := open(d); err != nil {
		d.Close()
		return err
	}
	g.state, g.dir = stateOpen, d
	return nil
}

// Close closes the gate for good, waiting for the calls in flight; if the
// store was open it runs release, which releases the store's own
// resources, and then releases the state directory and its lock. It is
// idempotent: a store closed before it was ever opened, or closed again,
// releases nothing and returns nil.
func (g *Gate) Close(release func() error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	was := g.state
	g.state = stateClosed
	if was != stateOpen {
		return nil
	}
	err := errors.Join(release(), g.dir.Close())
	g.dir = nil
	return err
}

// Enter admits a read (Head, ReadLog, GetSnapshot) of an open store, and
// returns hostapi.ErrClosed before Open and after Close. When it returns
// nil the caller must call Leave once the read is done.
func (g *Gate) Enter() error {
	g.mu.RLock()
	if g.state != stateOpen {
		g.mu.RUnlock()
		return g.errClosed()
	}
	return nil
}

// Leave ends a call that Enter admitted.
func (g *Gate) Leave() { g.mu.RUnlock() }

// Append runs write, which appends e, after the preamble of
// hostapi.Store.Append: the store is open (ErrClosed), e's data is 1 to
// hostapi.MaxEntryBytes long (ErrInvalidArgument), no other Append runs,
// and ctx is not done (CtxError). ctx is not checked again: a write that
// has begun runs to completion, so that an error means nothing changed.
// write checks the index itself (NextIndex), against a head that no other
// Append moves while it runs.
func (g *Gate) Append(ctx context.Context, e hostapi.LogEntry, write func() error) error {
	return g.write(ctx, "entry", e.Data, hostapi.MaxEntryBytes, &g.appendMu, write)
}

// PutSnapshot runs write, which replaces the snapshot with snap, after the
// preamble of hostapi.Store.PutSnapshot, as Append does for an entry: the
// data is 1 to hostapi.MaxSnapshotBytes long, and no other PutSnapshot
// runs.
func (g *Gate) PutSnapshot(ctx context.Context, snap hostapi.Snapshot, write func() error) error {
	return g.write(ctx, "snapshot", snap.Data, hostapi.MaxSnapshotBytes, &g.snapMu, write)
}

// Truncate runs write, which removes the log's suffix above after (and a
// snapshot beyond it), after the preamble of hostapi.Store.Truncate: the
// store is open (ErrClosed) and ctx is not done (CtxError), checked once
// no other call runs. It holds the gate exclusively (see the type's
// documentation), so write sees a head no other call moves. write checks
// after itself (TruncateAfter); ctx is not checked again, a removal that
// has begun runs to completion.
func (g *Gate) Truncate(ctx context.Context, write func() error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state != stateOpen {
		return g.errClosed()
	}
	if err := ctx.Err(); err != nil {
		return CtxError(err)
	}
	return write()
}

func (g *Gate) write(ctx context.Context, what string, data []byte, limit int, serial *sync.Mutex, write func() error) error {
	if err := g.Enter(); err != nil {
		return err
	}
	defer g.Leave()
	if err := CheckData(what, data, limit); err != nil {
		return err
	}
	serial.Lock()
	defer serial.Unlock()
	if err := ctx.Err(); err != nil {
		return CtxError(err)
	}
	return write()
}

func (g *Gate) errClosed() error {
	return hostapi.Errorf(hostapi.CodeClosed, "%s store is not open", g.Info.Name)
}
