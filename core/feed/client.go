package feed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/rustynet/rustynet/core/ledger"
	"github.com/rustynet/rustynet/core/membership"
)

// client is the Source New returns. Its fields belong to Pull, which
// serialises its callers (the daemon's feed loop, and a caller that pulls
// at once).
type client struct {
	mu      sync.Mutex // held by Pull
	opts    Options
	mirrors []*mirror
	first   int // the mirror tried first: the last that served a pull

	// pending holds the entries verified by a pull that failed part way,
	// resumed by the next pull while the trusted head is still pendingAt.
	pending   *ledger.Extension
	pendingAt membership.Hash
}

// mirror is one location and what the client remembers of it.
type mirror struct {
	loc location
	v   validators // of the document last fetched
	// head is the head last fetched; nil before one, or if the location
	// serves a single-file log (which is not kept between pulls).
	head *Head
	// memo is the verdict of the last pull from this location that ended
	// in one (nothing new, or a refusal): while the document is not
	// modified and the trusted head has not moved, it stands.
	memo *verdict
}

// verdict is what a pull concluded, at which trusted head.
type verdict struct {
	epoch uint64
	root  membership.Hash
	head  uint64 // the source's newest epoch
	err   error  // nil: nothing new
}

func (c *client) String() string { return c.mirrors[0].loc.String() }

func (c *client) Pull(ctx context.Context, l *ledger.Ledger, report func(Progress)) (res Result, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var cnt counter
	defer func() { res.Requests, res.Bytes = int(cnt.requests.Load()), cnt.bytes.Load() }()
	var errs []error
	for k := range c.mirrors {
		i := (c.first + k) % len(c.mirrors)
		m := c.mirrors[i]
		var x *ledger.Extension
		var head uint64
		var notModified bool
		x, head, notModified, err = c.pullFrom(ctx, m, l, report, &cnt)
		if err == nil {
			c.first = i
			res.Extension, res.Source, res.Head, res.NotModified = x, m.loc.String(), head, notModified
			return res, nil
		}
		if len(c.mirrors) > 1 {
			err = fmt.Errorf("%s: %w", m.loc, err)
		}
		if ctx.Err() != nil || membership.CodeOf(err) == membership.Forked {
			return res, err // the node is closing, or forked: no location can help
		}
		res.Skipped = append(res.Skipped, SourceError{Source: m.loc.String(), Err: err})
		errs = append(errs, err)
	}
	res.Skipped = nil
	return res, errors.Join(errs...)
}

// pullFrom pulls from m: it fetches m's document and follows the head or
// the log in it.
func (c *client) pullFrom(ctx context.Context, m *mirror, l *ledger.Ledger, report func(Progress), cnt *counter) (*ledger.Extension, uint64, bool, error) {
	st := l.Status()
	data, v, notModified, err := m.loc.document(ctx, m.v, cnt)
	if err != nil {
		return nil, 0, false, err
	}
	if notModified {
		if p := m.memo; p != nil && p.epoch == st.Head && p.root == st.Root {
			return nil, p.head, true, p.err
		}
		if m.head == nil { // a single-file log, not kept: fetch it again
			data, v, _, err = m.loc.document(ctx, validators{}, cnt)
			if err != nil {
				return nil, 0, false, err
			}
			notModified = false
		}
	}
	m.memo = nil
	var x *ledger.Extension
	var head uint64
	switch {
	case !notModified && !IsHead(data):
		m.v, m.head = v, nil
		var log []*membership.SignedUpdate
		if log, err = membership.ParseLog(data, c.opts.Limits); err == nil {
			head = uint64(len(log))
			x, err = c.pullLog(l, log)
		}
	default:
		if !notModified {
			h, err := ParseHead(data)
			if err != nil {
				m.v, m.head = validators{}, nil
				return nil, 0, false, fmt.Errorf("feed: %s: %w: %w", m.loc, ErrCorrupt, err)
			}
			m.v, m.head = v, h
		}
		head = m.head.Entries
		x, err = c.pullHead(ctx, m, l, st, report, cnt)
	}
	switch {
	case x != nil: // once committed, the document brings nothing new
		e, r := x.Head()
		m.memo = &verdict{epoch: e, root: r, head: head}
	case err == nil || membership.CodeOf(err) != "":
		m.memo = &verdict{epoch: st.Head, root: st.Root, head: head, err: err}
	}
	return x, head, notModified, err
}

// pullLog follows a single-file log: the whole log from genesis, as the
// ledger's Extend takes it.
func (c *client) pullLog(l *ledger.Ledger, log []*membership.SignedUpdate) (*ledger.Extension, error) {
	x, err := l.BeginExtension()
	if err != nil {
		return nil, err
	}
	if err := x.Add(1, log); err != nil {
		return nil, err
	}
	if err := x.Verify(); err != nil || x.Len() == 0 {
		return nil, err
	}
	return x, nil
}

// pullHead follows m's head: it fetches the segments holding what l lacks,
// verifying each as it arrives; if the feed is not ahead of l, the segment
// holding its newest entry, which must be l's (else it is a rollback or a
// fork).
func (c *client) pullHead(ctx context.Context, m *mirror, l *ledger.Ledger, st ledger.Status, report func(Progress), cnt *counter) (*ledger.Extension, error) {
	h, src := m.head, m.loc.String()
	if st.Head > 0 {
		if g, _ := l.RootAt(1); h.NetworkID != st.NetworkID || h.GenesisRoot != g.String() {
			return nil, fmt.Errorf("feed: %s serves network %q of genesis root %s, not this node's %q of %s", src, h.NetworkID, h.GenesisRoot, st.NetworkID, g)
		}
	}
	if h.Entries == st.Head && h.StateRoot == st.Root.String() {
		c.pending = nil
		return nil, nil // at the head
	}
	x := c.pending
	c.pending = nil
	if x == nil || x.Err() != nil || x.Base() != st.Head || c.pendingAt != st.Root || x.Next() > h.Entries+1 {
		var err error
		if x, err = l.BeginExtension(); err != nil {
			return nil, err
		}
	}
	from, to := x.Next(), h.Entries
	if to < from { // not ahead: check its newest entry
		from = to
	}
	segs, err := h.Cover(from, to)
	if err != nil {
		return nil, fmt.Errorf("feed: %s: %w: %w", src, ErrCorrupt, err)
	}
	fetched, stop := c.fetchAhead(ctx, m.loc, segs, cnt)
	defer stop()
	added := false
	for _, s := range segs {
		f, ok := <-fetched
		if !ok {
			f.err = fmt.Errorf("feed: %s: %w", src, context.Cause(ctx))
		}
		var entries []*membership.SignedUpdate
		if f.err == nil {
			entries, f.err = c.decodeSegment(src, h, s, f.data)
		}
		if f.err != nil {
			if x.Err() == nil && x.Len() > 0 {
				c.pending, c.pendingAt = x, st.Root // resumed by the next pull
			}
			return nil, f.err
		}
		start := max(s.First, x.Next())
		if !added && x.Len() == 0 {
			start = s.First // the first piece: the entries l has are compared too
		}
		if start <= s.Last() {
			added = true
			if err := x.Add(start, entries[start-s.First:]); err != nil {
				var ra *ledger.ResolutionAvailable
				if membership.CodeOf(err) == membership.WrongPrevRoot && x.Len() == 0 && !errors.As(err, &ra) {
					if ferr := c.locateFork(ctx, m.loc, h, l, st.Head, cnt); ferr != nil {
						err = ferr
					}
				}
				return nil, err
			}
		}
		if report != nil {
			report(Progress{Source: src, Base: x.Base(), Through: x.Next() - 1, Head: h.Entries, Bytes: cnt.bytes.Load()})
		}
	}
	if err := x.Verify(); err != nil || x.Len() == 0 {
		return nil, err
	}
	return x, nil
}

// decodeSegment decodes s's checked bytes: they must hold the epochs s
// names, and, if s ends at the head, the head's state root.
func (c *client) decodeSegment(src string, h *Head, s Segment, data []byte) ([]*membership.SignedUpdate, error) {
	entries, err := membership.ParseLog(data, c.opts.Limits)
	if err != nil {
		return nil, fmt.Errorf("feed: %s: segment %s: %w: %v", src, s.SHA256[:12], ErrCorrupt, err)
	}
	if uint64(len(entries)) != s.Count {
		return nil, fmt.Errorf("feed: %s: segment %s holds %d entries, the head says %d: %w", src, s.SHA256[:12], len(entries), s.Count, ErrCorrupt)
	}
	for i, u := range entries {
		if u.Body.Epoch != s.First+uint64(i) {
			return nil, fmt.Errorf("feed: %s: segment %s holds epoch %d where the head says %d: %w", src, s.SHA256[:12], u.Body.Epoch, s.First+uint64(i), ErrCorrupt)
		}
	}
	if s.Last() == h.Entries {
		if got := entries[len(entries)-1].Body.NewStateRoot.String(); got != h.StateRoot {
			return nil, fmt.Errorf("feed: %s: the head names state root %s for epoch %d, its segment leads to %s: %w", src, h.StateRoot, h.Entries, got, ErrCorrupt)
		}
	}
	return entries, nil
}

// fetched is a segment's bytes, or why they could not be had.
type fetched struct {
	data []byte
	err  error
}

// fetchAhead fetches segs in order, one ahead of the caller, who receives
// one fetched per segment (after an error, only errors; the channel is
// closed early only if ctx ends) and must call stop.
func (c *client) fetchAhead(ctx context.Context, loc location, segs []Segment, cnt *counter) (<-chan fetched, func()) {
	ctx, cancel := context.WithCancel(ctx)
	out := make(chan fetched, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		var err error
		for _, s := range segs {
			var data []byte
			if err == nil {
				data, err = loc.segment(ctx, s, cnt)
			}
			select {
			case out <- fetched{data, err}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, func() { cancel(); <-done }
}

// locateFork finds where the log of loc's head h leaves the trusted log,
// whose head is base, given that h's entry after base does not chain on
// it: it searches the segments holding epochs 1 to base for the first
// whose last entry differs from the trusted one (a fork differs from its
// divergence on, since every root covers the history before it), and
// checks that segment's entries as an extension would (FORKED if the
// divergent entry is one side of an equivocation, else WRONG_PREV_ROOT
// naming its epoch). It returns nil if it finds no difference or cannot
// fetch what it needs.
func (c *client) locateFork(ctx context.Context, loc location, h *Head, l *ledger.Ledger, base uint64, cnt *counter) error {
	segs, err := h.Cover(1, min(base, h.Entries))
	if err != nil {
		return nil
	}
	got := map[int][]*membership.SignedUpdate{}
	read := func(i int) []*membership.SignedUpdate {
		if e, ok := got[i]; ok {
			return e
		}
		data, err := loc.segment(ctx, segs[i], cnt)
		var e []*membership.SignedUpdate
		if err == nil {
			e, _ = c.decodeSegment(loc.String(), h, segs[i], data)
		}
		got[i] = e
		return e
	}
	differs := func(i int) (bool, bool) { // differs, known
		e := read(i)
		if e == nil {
			return false, false
		}
		last := min(segs[i].Last(), base)
		ours := l.Entries(last, 1)
		return len(ours) != 1 || !bytes.Equal(ours[0].BodyBytes(), e[last-segs[i].First].BodyBytes()), true
	}
	lo, hi := 0, len(segs) // the first differing segment is in [lo, hi)
	for lo < hi {
		mid := (lo + hi) / 2
		d, ok := differs(mid)
		if !ok {
			return nil
		}
		if d {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if lo == len(segs) {
		return nil
	}
	s, e := segs[lo], read(lo)
	x, err := l.BeginExtension()
	if err != nil {
		return err
	}
	return x.Add(s.First, e[:min(s.Last(), base)-s.First+1])
}
