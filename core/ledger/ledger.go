package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/hostapi"
)

// Config configures a Ledger.
type Config struct {
	// Store is an opened store; the ledger never opens or closes it.
	Store hostapi.Store
	// StateDir is the store's directory; it keys the default high-water mark.
	StateDir string
	// HighWaterPath overrides DefaultHighWaterPath(StateDir).
	HighWaterPath string
	// GenesisRoot pins the network's genesis: the log must start with a
	// genesis producing exactly this root. Zero accepts the log's own
	// genesis (only for offline inspection of a log one already trusts).
	GenesisRoot membership.Hash
	// Limits; nil means membership.DefaultLimits().
	Limits *membership.Limits
	// Now is the clock for accepting new updates; nil means time.Now.
	Now func() time.Time
	// SnapshotEvery is how many entries may follow the last snapshot before
	// Apply writes a new one (in the background); 0 means 1024. The log is
	// authoritative and re-verified at every start, so the snapshot is a
	// cross-check, not a recovery point: writing a multi-megabyte state
	// rarely keeps it off the apply path's tail latency.
	SnapshotEvery uint64
	// Logger; nil discards.
	Logger *slog.Logger
	// EvidenceDir is where evidence of forks is kept and found at Open;
	// "" means DefaultEvidenceDir(StateDir), or none without a StateDir.
	EvidenceDir string
	// ReadFirst opens the ledger as a command that may only read does
	// (verify-log, status, export of a stopped node's directory or a
	// copy): Open verifies as always but writes no high-water mark (a log
	// ahead of the mark is compared, not recorded), and Close writes no
	// snapshot. Apply still writes as usual: the entry, then the mark.
	ReadFirst bool
}

// readBatch is how many entries Open reads per store call. A variable only
// so that tests can cross batch boundaries with short logs.
var readBatch = 512

// Ledger is a node's trusted membership chain, persisted in a Store. It is
// safe for concurrent use.
type Ledger struct {
	cfg    Config
	hwPath string
	mark   keptMark // the mark's file, kept open between writes; l.mu guards it
	log    *slog.Logger

	// mu guards the fields below and is held across store I/O (also while
	// a call waits for a relaunched store plugin). Callers may hold their
	// own locks when calling the ledger (the daemon's d.mu comes first);
	// nothing holding mu calls out of the ledger except to the store and
	// to ApplyWith's Prepare hook, which must not call the ledger.
	// ApplyWith hands mu to a goroutine that writes the high-water mark
	// while its Committed hook runs, holding none of the ledger's locks.
	mu       sync.Mutex
	chain    *membership.Chain // nil before genesis
	roots    []membership.Hash // roots[i] = state root after entry i+1
	hashes   []membership.Hash // hashes[i] = hash of entry i+1 as stored (see window.go)
	lastHash membership.Hash   // hash of the last entry; zero for an empty log
	// recent holds the decoded updates of the newest len(recent) ≤ keep
	// entries; older ones are read back from the store (window.go).
	recent []*membership.SignedUpdate
	keep   int
	// known holds every key that signed an entry of the log.
	known      map[membership.ApproverKey]struct{}
	snapIndex  uint64
	snapBusy   bool  // a background snapshot write is in flight
	restricted error // non-nil: restricted-safe mode, and why
	// prevState is the state before the last entry (nil for an empty log),
	// kept so that a fork at the head is checked without replaying.
	prevState *membership.State
	// fork is non-nil while the ledger holds evidence of a fork: it then
	// refuses every update with FORKED (see fork.go). badEvidence holds
	// evidence checked and found to prove nothing (by its two update
	// bodies), so that a peer offering it again costs nothing.
	fork        *Fork
	badEvidence map[string]bool
	// hwErr is why the high-water mark lags the log (its last write
	// failed), nil while it does not; markRetry is set while a goroutine
	// retries the write.
	hwErr     error
	markRetry bool

	readErrLog *rate.Sometimes // Entries' read failures, logged at most once a minute

	snapshots sync.WaitGroup // background snapshot writes; Close waits
	retries   sync.WaitGroup // the mark's retry goroutine; Close waits
	closing   chan struct{}  // closed by Close: the retry goroutine ends
	closeOnce sync.Once

	// beforeMark, in tests, is called by ApplyWith's mark writer before
	// it writes; nil otherwise.
	beforeMark func()
}

// Retry delays of a high-water mark write that failed: the first, doubled
// after each failure up to the last. Variables so tests can shorten them.
var (
	markRetryFirst = time.Second
	markRetryMax   = time.Minute
)

// Status summarises a ledger.
type Status struct {
	NetworkID  string
	Epoch      uint64
	Root       membership.Hash
	Head       uint64 // verified entries
	Restricted bool
	Reason     string // why restricted; empty otherwise
	// HighWaterError is why the high-water mark lags behind the log, while
	// it does (a write failed, for example on a full disk; the ledger
	// retries); empty otherwise.
	HighWaterError string
	// Forked is the summary of the fork the ledger holds evidence of
	// (Ledger.Fork), while it does; empty otherwise.
	Forked string
}

// Open loads and re-verifies the ledger kept in cfg.Store. A verification
// failure does not make Open fail: the returned Ledger is in restricted-safe
// mode (see Restricted) holding the longest verified prefix of the log. Open
// fails only when it cannot read the store or the high-water mark at all.
func Open(ctx context.Context, cfg Config) (*Ledger, error) {
	l, err := newLedger(cfg)
	if err != nil {
		return nil, err
	}
	if err := l.load(ctx); err != nil {
		var me *membership.Error
		if !errors.As(err, &me) {
			return nil, err
		}
		l.restricted = err
		l.log.Error("membership ledger is in restricted-safe mode", "reason", err.Error())
	}
	l.loadEvidence()
	return l, nil
}

// newLedger returns an empty ledger for cfg with its defaults filled in.
func newLedger(cfg Config) (*Ledger, error) {
	if cfg.Store == nil {
		return nil, errors.New("ledger: no store")
	}
	if cfg.Limits == nil {
		d := membership.DefaultLimits()
		cfg.Limits = &d
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SnapshotEvery == 0 {
		cfg.SnapshotEvery = 1024
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	l := &Ledger{cfg: cfg, log: cfg.Logger, hwPath: cfg.HighWaterPath, closing: make(chan struct{}), keep: max(window, 1),
		readErrLog: &rate.Sometimes{First: 1, Interval: time.Minute}}
	if l.hwPath == "" {
		p, err := DefaultHighWaterPath(cfg.StateDir)
		if err != nil {
			return nil, err
		}
		l.hwPath = p
	}
	return l, nil
}

// load replays the store into l, returning the first integrity failure.
func (l *Ledger) load(ctx context.Context) error {
	st := l.cfg.Store
	head, err := st.Head(ctx)
	if err != nil {
		return fmt.Errorf("ledger: reading the log head: %w", err)
	}
	snap, err := st.GetSnapshot(ctx)
	switch {
	case errors.Is(err, hostapi.ErrNotFound):
		snap = hostapi.Snapshot{}
	case errors.Is(err, hostapi.ErrCorrupt):
		return integrityf("the snapshot is unreadable: %v", err)
	case err != nil:
		return fmt.Errorf("ledger: reading the snapshot: %w", err)
	}
	if snap.Data != nil {
		idx, err := snapshotIndex(snap.Data)
		if err != nil {
			return err
		}
		if idx != snap.Index || idx == 0 {
			return integrityf("the snapshot claims index %d but is stored at %d", idx, snap.Index)
		}
		if idx > head {
			return integrityf("the snapshot is at entry %d but the log ends at %d: the log was truncated", idx, head)
		}
	}

	batches, stop := readAhead(ctx, st, head, l.cfg.Limits)
	defer stop()
	next := uint64(1)
	for b := range batches {
		switch err := b.err; {
		case errors.Is(err, hostapi.ErrCorrupt):
			return integrityf("log entry at or after %d is unreadable: %v", next, err)
		case err != nil:
			return fmt.Errorf("ledger: reading the log at %d: %w", next, err)
		case len(b.entries) == 0:
			return integrityf("the log ends at %d, before its head %d", next-1, head)
		}
		<-b.ready
		for i, se := range b.entries {
			if se.Index != next {
				return integrityf("the store returned entry %d where %d was expected", se.Index, next)
			}
			if err := l.replayDecoded(se, b.decoded[i]); err != nil {
				return err
			}
			if snap.Data != nil && snap.Index == next {
				want := encodeSnapshot(l.chain.State(), next, l.lastHash)
				if !bytes.Equal(want, snap.Data) {
					return integrityf("the snapshot at entry %d does not match the state the log replays to", next)
				}
				l.snapIndex = next
			}
			next++
		}
	}
	if next <= head {
		// The read-ahead stopped early only if ctx ended.
		return fmt.Errorf("ledger: reading the log at %d: %w", next, context.Cause(ctx))
	}
	return l.checkHighWater(!l.cfg.ReadFirst)
}

// replayEntry decodes one stored entry and replays it.
func (l *Ledger) replayEntry(se hostapi.LogEntry) error {
	e, err := decodeEntry(se.Data, l.cfg.Limits)
	return l.replayDecoded(se, decodedEntry{e, err})
}

// replayDecoded verifies one decoded entry as history and appends it to l.
func (l *Ledger) replayDecoded(se hostapi.LogEntry, d decodedEntry) error {
	e, err := d.e, d.err
	if err != nil {
		return err
	}
	if e.Index != se.Index {
		return integrityf("log entry stored at %d claims index %d", se.Index, e.Index)
	}
	if e.Prev != l.lastHash {
		return integrityf("log entry %d does not link to entry %d (hash chain broken)", e.Index, e.Index-1)
	}
	if e.Update.Body.Epoch != e.Index {
		return integrityf("log entry %d holds the update of epoch %d", e.Index, e.Update.Body.Epoch)
	}
	if l.chain == nil {
		if err := l.checkGenesis(e.Update); err != nil {
			return err
		}
		l.chain = membership.NewChain(e.Update.Body.NetworkID)
	}
	pre := l.chain.State()
	if _, err := l.chain.Apply(e.Update, membership.Options{History: true, Limits: l.cfg.Limits}); err != nil {
		return integrityf("log entry %d does not verify: %v", e.Index, err)
	}
	l.prevState = pre
	l.push(e.Update, l.chain.State().Root(), e.Hash)
	return nil
}

func (l *Ledger) checkGenesis(u *membership.SignedUpdate) error {
	if u.Body.Operation.Type != membership.OpGenesis {
		return integrityf("the log starts with %s, not a genesis", u.Body.Operation.Type)
	}
	if l.cfg.GenesisRoot != (membership.Hash{}) && u.Body.NewStateRoot != l.cfg.GenesisRoot {
		return integrityf("the genesis root %s is not the pinned genesis root %s", u.Body.NewStateRoot, l.cfg.GenesisRoot)
	}
	return nil
}

// checkHighWater compares the verified log with the high-water mark and,
// if advance is set and the log is ahead, advances the mark (a failed
// write leaves the mark lagging and retried: see advanceHighWater).
func (l *Ledger) checkHighWater(advance bool) error {
	hw, err := readHighWater(l.hwPath)
	if err != nil {
		return err
	}
	if hw != nil && hw.Resolving != nil {
		return l.finishResolution(hw)
	}
	head := uint64(len(l.roots))
	if hw != nil {
		if hw.Index > head {
			return integrityf("rollback: the log ends at epoch %d but this node has trusted epoch %d (high-water mark %s)", head, hw.Index, l.hwPath)
		}
		if hw.Index > 0 && l.roots[hw.Index-1].String() != hw.StateRoot {
			return integrityf("fork: the state root at epoch %d is %s but this node trusted %s", hw.Index, l.roots[hw.Index-1], hw.StateRoot)
		}
		if hw.Index == head {
			return nil
		}
	}
	if !advance || head == 0 {
		return nil
	}
	l.advanceHighWater()
	return nil
}

// advanceHighWater writes the mark for the current head. A failure (a full
// disk, say) does not undo what the log holds durably: it leaves the mark
// lagging, which only weakens rollback detection until a write succeeds.
// So it is recorded (Status.HighWaterError), logged once, and retried in
// the background with growing delays until a write, that one or a later
// commit's, succeeds. l.mu must be held.
func (l *Ledger) advanceHighWater() {
	err := l.writeHighWater()
	switch {
	case err == nil && l.hwErr != nil:
		l.log.Info("the high-water mark caught up with the log", "index", len(l.roots))
		l.hwErr = nil
	case err != nil && l.hwErr == nil:
		l.log.Error("writing the high-water mark failed; the log is durable, the mark lags until a retry succeeds", "path", l.hwPath, "err", err)
		l.hwErr = err
	case err != nil:
		l.hwErr = err
	}
	if l.hwErr != nil && !l.markRetry && !l.isClosing() {
		l.markRetry = true
		l.retries.Add(1)
		go l.retryHighWater()
	}
}

// isClosing reports whether Close has begun.
func (l *Ledger) isClosing() bool {
	select {
	case <-l.closing:
		return true
	default:
		return false
	}
}

// retryHighWater retries the mark's write until it has caught up or the
// ledger closes.
func (l *Ledger) retryHighWater() {
	defer l.retries.Done()
	t := time.NewTimer(markRetryFirst)
	defer t.Stop()
	delay := markRetryFirst
	for {
		select {
		case <-l.closing:
			return
		case <-t.C:
		}
		l.mu.Lock()
		if l.hwErr != nil {
			l.advanceHighWater()
		}
		if l.hwErr == nil {
			l.markRetry = false
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
		delay = min(2*delay, markRetryMax)
		t.Reset(delay)
	}
}

func (l *Ledger) writeHighWater() error {
	return l.mark.writeHighWater(l.hwPath, l.markNow())
}

// Restricted returns why the ledger is in restricted-safe mode, or nil.
func (l *Ledger) Restricted() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.restricted
}

// State returns the trusted state (in restricted mode, the state of the
// longest verified prefix), or nil before genesis.
func (l *Ledger) State() *membership.State {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.chain == nil {
		return nil
	}
	return l.chain.State()
}

// Status summarises the ledger.
func (l *Ledger) Status() Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := Status{Head: uint64(len(l.roots))}
	if l.chain != nil {
		st := l.chain.State()
		s.NetworkID, s.Epoch, s.Root = st.NetworkID(), st.Epoch(), st.Root()
	}
	if l.restricted != nil {
		s.Restricted, s.Reason = true, l.restricted.Error()
	}
	if l.hwErr != nil {
		s.HighWaterError = l.hwErr.Error()
	}
	if l.fork != nil {
		s.Forked = l.fork.Summary()
	}
	return s
}

// Log returns the verified updates from genesis on. All but the newest
// are read back from the store (window.go): if one cannot be, or is not
// the entry verified, Log fails (INTEGRITY_FAILURE for an entry that is
// not the one verified) and returns no partial log.
func (l *Ledger) Log() ([]*membership.SignedUpdate, error) {
	l.mu.Lock()
	head := l.head()
	l.mu.Unlock()
	out, err := l.entries(1, head)
	if err != nil {
		return nil, fmt.Errorf("ledger: reading the log back from the store: %w", err)
	}
	return out, nil
}

// entries returns the trusted updates of epochs from to to, as updateRange
// does, but reads the store without holding l.mu (the ledger's head may
// move meanwhile; what is returned is the log as it was, checked against
// the hashes kept then; a resolution cutting those entries meanwhile ends
// the read with an error). from must be at least 1 and to at most a head
// the ledger had.
func (l *Ledger) entries(from, to uint64) ([]*membership.SignedUpdate, error) {
	l.mu.Lock()
	to = min(to, l.head()) // a resolution may have cut the log since
	old, recent, err := l.spanCopy(from, to)
	l.mu.Unlock()
	if err != nil || to < from {
		return nil, err
	}
	out := make([]*membership.SignedUpdate, 0, to-from+1)
	err = l.walk(from, old, recent, func(_ uint64, u *membership.SignedUpdate) error {
		out = append(out, u)
		return nil
	})
	return out, err
}

// Entries returns the trusted entries of epochs from, from+1, …, at most
// max of them (none if from is 0 or past the head). Entries older than the
// window are read back from the store and checked (window.go): if one
// cannot be read or is not the entry verified, Entries logs why and
// returns only those before it.
func (l *Ledger) Entries(from uint64, max int) []*membership.SignedUpdate {
	l.mu.Lock()
	head := l.head()
	l.mu.Unlock()
	if from == 0 || from > head || max <= 0 {
		return nil
	}
	out, err := l.entries(from, min(from-1+uint64(max), head))
	if err != nil {
		// Peers ask again every round: at most one line a minute.
		l.readErrLog.Do(func() {
			l.log.Error("reading entries back from the store failed; they are not served", "from", from+uint64(len(out)), "err", err)
		})
	}
	return out
}

// Holds reports whether the trusted log holds u itself: its entry at u's
// epoch has byte-identical body bytes. An entry that cannot be read back
// from the store is not held.
func (l *Ledger) Holds(u *membership.SignedUpdate) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := u.Body.Epoch
	if e < 1 || e > l.head() {
		return false
	}
	same, err := l.sameBody(e, u)
	if err != nil {
		l.log.Error("reading an entry back from the store failed", "epoch", e, "err", err)
	}
	return same
}

// RootAt returns the trusted state root after epoch e; false if e is 0 or
// past the head.
func (l *Ledger) RootAt(e uint64) (membership.Hash, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e == 0 || e > uint64(len(l.roots)) {
		return membership.Hash{}, false
	}
	return l.roots[e-1], true
}

// Evaluate verifies u against the trusted state at the current time without
// applying it (a dry run). An empty ledger accepts only a genesis, matching
// the pinned root if one is configured.
//
// A fork resolution that this ledger would take (see Resolve) is verified
// on the state it extends, the trusted state at its epoch − 1.
func (l *Ledger) Evaluate(u *membership.SignedUpdate) (*membership.Result, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, res, err := l.evaluate(u)
	if err != nil && u.Body.Operation.Type == membership.OpResolveFork && l.settles(u) {
		chain, cerr := l.chainAt(u.Body.Epoch - 1)
		if cerr != nil {
			return res, cerr
		}
		return chain.Evaluate(u, membership.Options{Now: l.cfg.Now(), Limits: l.cfg.Limits})
	}
	return res, err
}

func (l *Ledger) evaluate(u *membership.SignedUpdate) (*membership.Chain, *membership.Result, error) {
	if l.restricted != nil {
		return nil, nil, restrictedf("the ledger is in restricted-safe mode and accepts no update until it is recovered: %v", l.restricted)
	}
	if l.fork != nil {
		return nil, nil, l.forkedErr()
	}
	chain := l.chain
	if chain == nil {
		if err := l.checkGenesis(u); err != nil {
			return nil, &membership.Result{Update: u}, &membership.Error{Code: membership.IllegalOperation, Msg: "an empty ledger accepts only its genesis: " + err.(*membership.Error).Msg}
		}
		chain = membership.NewChain(u.Body.NetworkID)
	}
	res, err := chain.Evaluate(u, membership.Options{Now: l.cfg.Now(), Limits: l.cfg.Limits})
	return chain, res, err
}

// Apply verifies u and, if it is valid, appends it durably to the log,
// advances the high-water mark, and makes it the trusted state. On any
// error the trusted state is unchanged. Verification failures carry the
// membership error codes; storage failures are returned as they are.
//
// An update refused because it extends a state the log already moved past
// is checked for a fork: if it and the log's entry at its epoch both
// verify on the state they extend, the ledger keeps the evidence (in
// Config.EvidenceDir), enters the forked state and returns FORKED; from
// then on it refuses every update with FORKED (docs/forks.md) — but for a
// fork resolution that settles it, which Apply takes (Resolve): the log's
// entries from the fork's epoch on are replaced by the resolution.
func (l *Ledger) Apply(ctx context.Context, u *membership.SignedUpdate) (*membership.Result, error) {
	return l.ApplyWith(ctx, u, ApplyHooks{})
}

// ApplyHooks are the caller's own work that ApplyWith overlaps with the
// durable writes of an update.
type ApplyHooks struct {
	// Prepare runs once the update is verified, on another goroutine,
	// while the entry is written: the caller readies what follows the
	// update (a data-plane change, a filter compiled for res.Post) while
	// the store syncs. What it computes may be used only if the update
	// commits. It must not call the Ledger (its lock is held while it
	// runs). It is called at most once, and never for an update that
	// fails verification or for a fork resolution.
	Prepare func(res *membership.Result)
	// Committed runs once the entry is durable, the update is the trusted
	// state and Prepare has returned, on the caller's goroutine, while the
	// high-water mark is written: the caller changes its data plane then
	// rather than after the mark's fdatasync. It holds no lock of the
	// Ledger's, but the mark's writer holds its lock, so a Ledger method
	// Committed calls waits for the mark (a local file: no plugin is
	// waited for); view is what Restricted and Fork say after the commit.
	// It is called only for an update ApplyWith then returns committed,
	// never for a fork resolution.
	Committed func(res *membership.Result, view CommitView)
}

// CommitView is the ledger's standing just after a commit, as Committed
// sees it.
type CommitView struct {
	Restricted error // Restricted()
	Forked     bool  // Fork() != nil
}

// ApplyWith is Apply with the caller's work overlapped with the durable
// writes (ApplyHooks): Prepare with the entry's, Committed with the
// high-water mark's. It returns only after both hooks and the mark's write
// have returned, so once it returns the update is as committed as Apply
// leaves it. Zero hooks make it Apply.
func (l *Ledger) ApplyWith(ctx context.Context, u *membership.SignedUpdate, h ApplyHooks) (*membership.Result, error) {
	l.mu.Lock()
	held := true // false once the mark's writer has taken the lock over
	defer func() {
		if held {
			l.mu.Unlock()
		}
	}()
	chain, res, err := l.evaluate(u)
	if err != nil {
		if u.Body.Operation.Type == membership.OpResolveFork {
			if rres, rerr := l.resolveLocked(ctx, u); rres != nil || rerr != nil {
				return rres, rerr
			}
		}
		if ferr := l.detectFork(u); ferr != nil {
			return res, ferr
		}
		return res, err
	}
	prepared := make(chan struct{})
	if h.Prepare != nil {
		go func() {
			defer close(prepared)
			h.Prepare(res)
		}()
		defer func() { <-prepared }()
	} else {
		close(prepared)
	}
	if err := l.commitEntry(ctx, chain, res); err != nil {
		return res, err
	}
	if h.Committed == nil {
		l.commitMark()
		return res, nil
	}
	view := CommitView{Restricted: l.restricted, Forked: l.fork != nil}
	marked := make(chan struct{})
	held = false
	go func() {
		defer close(marked)
		defer l.mu.Unlock() // taken over from ApplyWith
		if l.beforeMark != nil {
			l.beforeMark()
		}
		l.commitMark()
	}()
	<-prepared
	h.Committed(res, view)
	<-marked
	return res, nil
}

// commit persists a verified update (durable append, then the high-water
// mark, then a snapshot when due) and makes it current; l.mu must be held.
func (l *Ledger) commit(ctx context.Context, chain *membership.Chain, res *membership.Result) error {
	if err := l.commitEntry(ctx, chain, res); err != nil {
		return err
	}
	l.commitMark()
	return nil
}

// commitEntry appends a verified update durably and makes it current, the
// first half of commit; l.mu must be held.
//
// Once the append is under way it is seen through whatever happens to ctx
// (a caller that hangs up, a request deadline): the entry may already be
// durable, and a ledger that gave up on it would collide with it at the
// next append. commitTimeout bounds it instead; a hung store plugin is
// relaunched by its supervisor long before.
func (l *Ledger) commitEntry(ctx context.Context, chain *membership.Chain, res *membership.Result) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	index := uint64(len(l.roots)) + 1
	data := encodeEntry(index, l.lastHash, res.Update)
	if err := l.append(ctx, index, data); err != nil {
		return err
	}
	if err := chain.Commit(res); err != nil {
		return err
	}
	l.chain = chain
	l.prevState = res.Pre
	l.push(res.Update, res.Post.Root(), hashEntry(data))
	return nil
}

// commitMark advances the high-water mark to the head commitEntry made and
// starts a snapshot when one is due, the second half of commit; l.mu must
// be held.
func (l *Ledger) commitMark() {
	l.advanceHighWater()
	if uint64(len(l.roots))-l.snapIndex >= l.cfg.SnapshotEvery && !l.snapBusy {
		l.snapshotInBackground()
	}
}

// commitTimeout bounds a commit once it has begun (see commit).
const commitTimeout = 2 * time.Minute

// snapshotInBackground writes the snapshot of the current head without
// holding up Apply: States are immutable, so encoding and writing can run
// while further updates are applied. l.mu must be held.
func (l *Ledger) snapshotInBackground() {
	st, head, hash := l.chain.State(), uint64(len(l.roots)), l.lastHash
	l.snapBusy = true
	l.snapshots.Add(1)
	go func() {
		defer l.snapshots.Done()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		err := l.cfg.Store.PutSnapshot(ctx, hostapi.Snapshot{Index: head, Data: encodeSnapshot(st, head, hash)})
		l.mu.Lock()
		defer l.mu.Unlock()
		l.snapBusy = false
		if err != nil {
			l.log.Error("writing the snapshot failed; the log stays authoritative", "index", head, "err", err)
			return
		}
		l.snapIndex = max(l.snapIndex, head)
	}()
}

// append writes one entry. If the store reports an error but the entry is
// in fact there (an acknowledgement lost in transit), it counts as written.
func (l *Ledger) append(ctx context.Context, index uint64, data []byte) error {
	err := l.cfg.Store.Append(ctx, hostapi.LogEntry{Index: index, Data: data})
	if err == nil {
		return nil
	}
	got, rerr := l.cfg.Store.ReadLog(ctx, index, 1)
	if rerr == nil && len(got) == 1 && bytes.Equal(got[0].Data, data) {
		l.log.Warn("append reported an error but the entry is stored", "index", index, "err", err)
		return nil
	}
	return fmt.Errorf("ledger: appending entry %d: %w", index, err)
}

func (l *Ledger) writeSnapshot(ctx context.Context) {
	head := uint64(len(l.roots))
	if l.chain == nil || head == l.snapIndex {
		return
	}
	data := encodeSnapshot(l.chain.State(), head, l.lastHash)
	if err := l.cfg.Store.PutSnapshot(ctx, hostapi.Snapshot{Index: head, Data: data}); err != nil {
		l.log.Error("writing the snapshot failed; the log stays authoritative", "index", head, "err", err)
		return
	}
	l.snapIndex = head
}

// Close waits for a background snapshot write, stops retrying a lagging
// high-water mark (after one last attempt), and writes a final snapshot if
// the log moved past the last one (not if opened ReadFirst). It does not
// close the store.
func (l *Ledger) Close(ctx context.Context) error {
	l.closeOnce.Do(func() { close(l.closing) })
	l.retries.Wait()
	l.snapshots.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.hwErr != nil {
		if err := l.writeHighWater(); err != nil {
			l.log.Error("the high-water mark still lags the log at close", "path", l.hwPath, "err", err)
		} else {
			l.hwErr = nil
		}
	}
	if l.restricted == nil && !l.cfg.ReadFirst {
		l.writeSnapshot(ctx)
	}
	l.mark.close()
	return nil
}
