package ledger

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/internal/atomicfile"
)

// Fork is what a ledger holding evidence of an equivocation reports (see
// docs/forks.md): the evidence, where it is kept, and the floor — the part
// of the trusted state every side of every fork it holds agrees on, which
// is all the data plane may follow while the node is forked.
//
// A ledger may hold several pieces of evidence (three updates for one
// epoch are two pieces; two forks at different epochs too): it keeps
// verifying conflicts while forked, and the floor covers all of them, so
// nodes that have seen the same updates end with the same floor whatever
// the order. A Fork is immutable; the ledger replaces it as evidence
// arrives.
type Fork struct {
	// Items are the evidence held, lowest epoch first, then by name; at
	// most MaxEvidence.
	Items []EvidenceItem
	// Floor is membership.ForkFloor of the trusted state and, for every
	// item, the state its updates extend and the states they lead to.
	Floor *membership.State
}

// EvidenceItem is one piece of evidence a ledger holds.
type EvidenceItem struct {
	Report   *membership.EvidenceReport
	Evidence *membership.Evidence // rebuilt from the ledger's own log
	Encoded  []byte               // Evidence.Encode(), what is kept and served
	// Path is the file it is kept in ("" if the ledger has no evidence
	// directory or the write failed).
	Path string
}

// MaxEvidence bounds the pieces of evidence a ledger holds; more are
// reported and dropped.
const MaxEvidence = 16

// First is the evidence of the lowest epoch.
func (f *Fork) First() EvidenceItem { return f.Items[0] }

// Names are the names of the evidence held (EvidenceReport.Name), in
// order.
func (f *Fork) Names() []string {
	out := make([]string, len(f.Items))
	for i, it := range f.Items {
		out[i] = it.Report.Name()
	}
	return out
}

// Summary is one line: the first fork's summary, and how many more.
func (f *Fork) Summary() string {
	s := f.Items[0].Report.Summary()
	if n := len(f.Items) - 1; n > 0 {
		s += fmt.Sprintf(" (and %d more piece(s) of evidence)", n)
	}
	return s
}

// Item returns the evidence named name.
func (f *Fork) Item(name string) (EvidenceItem, bool) {
	for _, it := range f.Items {
		if it.Report.Name() == name {
			return it, true
		}
	}
	return EvidenceItem{}, false
}

// DefaultEvidenceDir is where a ledger keeps evidence for the state
// directory dir: beside it, in dir + ".evidence" (the store owns dir).
func DefaultEvidenceDir(dir string) string {
	// The directory's real path, as the high-water mark uses: reaching it
	// through another path must find the same evidence.
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	return filepath.Clean(dir) + ".evidence"
}

// evidenceFileLimit bounds an evidence file read back at Open: a log of
// MaxLogEntries updates and two more, each at most a genesis's size, is far
// below it for the default limits.
const evidenceFileLimit = 1 << 30

// Fork returns the fork the ledger holds evidence of, or nil.
func (l *Ledger) Fork() *Fork {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fork
}

// forkedErr returns the FORKED error of a forked ledger; l.mu must be held.
func (l *Ledger) forkedErr() error {
	return &membership.Error{Code: membership.Forked, Msg: "this node holds evidence of a fork and accepts no update until it is resolved (docs/forks.md): " +
		l.fork.Summary() + evidenceWhere(l.fork.First().Path)}
}

func evidenceWhere(path string) string {
	if path == "" {
		return ""
	}
	return "; evidence in " + path
}

// detectFork checks whether u, refused by the trusted chain, is one side
// of an equivocation with an entry of the log: it extends the same state
// (its epoch is at most the head's, its previous root is the root the log
// had before that epoch) with a different body, and it verifies on that
// state. If so the ledger records the evidence, enters the forked state and
// returns the FORKED error; otherwise it returns nil and u's own refusal
// stands. l.mu must be held.
//
// u is untrusted. Before any state is rebuilt, every signature on u must
// verify over its body under a key that signed an entry of the log or is
// an approver now, so that only an approver's key can make the node replay
// history (a fork deeper than the last entry replays the log up to it).
func (l *Ledger) detectFork(u *membership.SignedUpdate) error {
	e := u.Body.Epoch
	if l.chain == nil || l.restricted != nil || e < 2 || e > l.head() ||
		u.Body.NetworkID != l.chain.State().NetworkID() || u.Body.PrevStateRoot != l.roots[e-2] {
		return nil
	}
	if !l.signedByKnownKeys(u) {
		return nil
	}
	// Only now, behind an approver's signature, may the log be read back.
	ours, err := l.updateAt(e)
	if err != nil {
		l.log.Error("reading the log back to check a fork failed: not checked", "epoch", e, "err", err)
		return nil
	}
	if bytes.Equal(ours.BodyBytes(), u.BodyBytes()) {
		return nil
	}
	if l.fork != nil { // already held: nothing to check again
		for _, it := range l.fork.Items {
			if it.Report.Epoch == e && (bytes.Equal(it.Evidence.Updates[0].BodyBytes(), u.BodyBytes()) || bytes.Equal(it.Evidence.Updates[1].BodyBytes(), u.BodyBytes())) {
				return l.forkedErr()
			}
		}
	}
	prefix, err := l.updateRange(1, e-1)
	if err != nil {
		l.log.Error("reading the log back to check a fork failed: not checked", "epoch", e, "err", err)
		return nil
	}
	pre := l.prevState
	if e != l.head() || pre == nil {
		chain, _, err := membership.Replay(prefix, l.cfg.GenesisRoot, l.cfg.Limits)
		if err != nil {
			return nil // the log verified at Open: cannot happen
		}
		pre = chain.State()
	}
	ev := membership.NewEvidence(prefix, ours, u)
	rep, err := membership.CheckEquivocation(pre, ev.Updates[0], ev.Updates[1], l.cfg.Limits) // in the evidence's order
	if err != nil {
		l.log.Warn("an update conflicting with the trusted log does not verify: not a fork", "epoch", e, "err", err)
		return nil
	}
	rep.GenesisRoot = l.roots[0]
	l.keepEvidence(ev, rep)
	return l.forkedErr()
}

// signedByKnownKeys reports whether every signature on u verifies over its
// body under a key that signed an entry of the log or is an approver of
// the trusted state (the keys of the log are kept in l.known as entries
// are added, window.go). l.mu must be held.
func (l *Ledger) signedByKnownKeys(u *membership.SignedUpdate) bool {
	approvers := map[membership.ApproverKey]bool{}
	for _, a := range l.chain.State().Approvers() {
		approvers[a.PublicKey] = true
	}
	if len(u.Signatures) == 0 {
		return false
	}
	for i := range u.Signatures {
		k := u.Signatures[i].PublicKey
		if _, signed := l.known[k]; !signed && !approvers[k] || !u.VerifySignature(i) {
			return false
		}
	}
	return true
}

// keepEvidence writes ev to the evidence directory and adds it to the
// fork the ledger holds (making it forked). l.mu must be held.
func (l *Ledger) keepEvidence(ev *membership.Evidence, rep *membership.EvidenceReport) {
	path, werr := l.writeEvidence(ev, rep)
	if werr != nil {
		l.log.Error("keeping the evidence of a fork failed; the node is forked until it stops", "err", werr)
		path = ""
	}
	l.addEvidence(EvidenceItem{Report: rep, Evidence: ev, Encoded: ev.Encode(), Path: path})
}

// addEvidence adds it to the fork (unless held already or MaxEvidence are)
// and recomputes the floor. l.mu must be held (or the ledger not shared).
func (l *Ledger) addEvidence(it EvidenceItem) {
	var items []EvidenceItem
	if l.fork != nil {
		if _, held := l.fork.Item(it.Report.Name()); held {
			return
		}
		if len(l.fork.Items) >= MaxEvidence {
			l.log.Error("FORK: more evidence than the ledger keeps; this piece is dropped", "max", MaxEvidence, "epoch", it.Report.Epoch)
			return
		}
		items = slices.Clone(l.fork.Items)
	}
	items = append(items, it)
	slices.SortFunc(items, func(a, b EvidenceItem) int {
		if c := cmp.Compare(a.Report.Epoch, b.Report.Epoch); c != 0 {
			return c
		}
		return strings.Compare(a.Report.Name(), b.Report.Name())
	})
	others := make([]*membership.State, 0, 3*len(items))
	for _, x := range items {
		others = append(others, x.Report.Pre, x.Report.Posts[0], x.Report.Posts[1])
	}
	l.fork = &Fork{Items: items, Floor: membership.ForkFloor(l.chain.State(), others...)}
	r := it.Report
	l.log.Error("FORK: this node holds evidence of an equivocation; it accepts no update and its data plane follows only what every side agrees on",
		"epoch", r.Epoch, "double_signers", strings.Join(r.DoubleSigners, ","), "evidence", it.Path, "pieces", len(items))
}

// writeEvidence keeps ev in the evidence directory (created 0700, the file
// 0600, written atomically), unless the ledger has none. A file of the
// same name holds the same evidence: the name is derived from it.
func (l *Ledger) writeEvidence(ev *membership.Evidence, rep *membership.EvidenceReport) (string, error) {
	dir := l.evidenceDir()
	if dir == "" {
		return "", nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, rep.Name())
	return path, atomicfile.WriteFile(path, ev.Encode(), 0o600)
}

func (l *Ledger) evidenceDir() string {
	switch {
	case l.cfg.EvidenceDir != "":
		return l.cfg.EvidenceDir
	case l.cfg.StateDir != "":
		return DefaultEvidenceDir(l.cfg.StateDir)
	}
	return ""
}

// loadEvidence enters the forked state at Open if the evidence directory
// holds evidence of a fork in this node's own log: its log is a prefix of
// ours and its two updates verify on the state that prefix leads to. Files
// that are not such evidence (another network, another history, malformed)
// are reported and otherwise ignored: evidence proves itself or is nothing.
// Every valid file counts (up to MaxEvidence). l.mu need not be held
// (Open).
func (l *Ledger) loadEvidence() {
	dir := l.evidenceDir()
	if dir == "" || l.chain == nil || l.restricted != nil {
		return
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			l.log.Warn("reading the evidence directory failed", "dir", dir, "err", err)
		}
		return
	}
	names := make([]string, 0, len(des))
	for _, de := range des {
		if de.Type().IsRegular() && strings.HasPrefix(de.Name(), "fork-") && strings.HasSuffix(de.Name(), ".json") {
			names = append(names, de.Name())
		}
	}
	for _, name := range names {
		path := filepath.Join(dir, name)
		ev, rep, err := l.checkEvidenceFile(path)
		if ev != nil && uint64(len(ev.Log)) < l.head() {
			next, rerr := l.updateAt(uint64(len(ev.Log)) + 1)
			if rerr == nil && membership.Settles(next, ev) {
				// Settled by a resolution whose end a stop interrupted.
				if rerr := os.Remove(path); rerr != nil {
					l.log.Warn("removing settled evidence failed", "file", path, "err", rerr)
				}
				continue
			}
		}
		if err != nil {
			l.log.Warn("ignoring a file in the evidence directory that is not evidence of a fork in this node's log", "file", path, "err", err)
			continue
		}
		prefix, err := l.updateRange(1, uint64(len(ev.Log)))
		if err != nil {
			l.log.Warn("reading the log back for evidence failed; the evidence is ignored", "file", path, "err", err)
			continue
		}
		own := membership.NewEvidence(prefix, ev.Updates[0], ev.Updates[1])
		l.addEvidence(EvidenceItem{Report: rep, Evidence: own, Encoded: own.Encode(), Path: path})
	}
}

// CheckFork checks u — an entry a peer holds for an epoch this log
// already has a different entry for — for a fork, as Apply does for an
// update it refuses: if u and the log's entry both verify on the state
// they extend, the ledger keeps the evidence, becomes forked and returns
// FORKED; otherwise it returns nil and changes nothing.
func (l *Ledger) CheckFork(u *membership.SignedUpdate) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.detectFork(u)
}

// AddEvidence verifies evidence from elsewhere (a peer): it must prove a
// fork in this node's own history — its log a prefix of the trusted log,
// both updates valid on the state that prefix leads to. Then the ledger
// keeps it and becomes forked, unless it already is (the fork it holds
// stands). The evidence's log must not run past the trusted head: catch
// up first.
func (l *Ledger) AddEvidence(ev *membership.Evidence) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.restricted != nil {
		return restrictedf("the ledger is in restricted-safe mode: %v", l.restricted)
	}
	if l.chain == nil {
		return integrityf("the ledger holds no log yet")
	}
	rep, err := l.checkEvidence(ev)
	if err != nil {
		return err
	}
	if l.fork != nil {
		if _, held := l.fork.Item(rep.Name()); held {
			return nil
		}
	}
	// Kept and served as this node's own log makes it: the copy received
	// was only compared (same bodies, perhaps other signatures).
	prefix, err := l.updateRange(1, uint64(len(ev.Log)))
	if err != nil {
		return err
	}
	own := membership.NewEvidence(prefix, ev.Updates[0], ev.Updates[1])
	l.keepEvidence(own, rep)
	return nil
}

func (l *Ledger) checkEvidenceFile(path string) (*membership.Evidence, *membership.EvidenceReport, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, nil, err
	}
	if fi.Size() > evidenceFileLimit {
		return nil, nil, fmt.Errorf("%d bytes is over the limit of %d", fi.Size(), evidenceFileLimit)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	ev, err := membership.ParseEvidence(data, l.cfg.Limits)
	if err != nil {
		return nil, nil, err
	}
	rep, err := l.checkEvidence(ev)
	if err != nil {
		return ev, nil, err // parsed, so the caller can tell settled evidence
	}
	return ev, rep, nil
}

// checkEvidence verifies that ev proves a fork in the trusted log: its
// log is a prefix of ours, and both updates verify on the state that
// prefix leads to (the trusted log's own: the evidence's copy is only
// compared). The node need not hold either update. l.mu must be held, or the ledger not yet shared.
func (l *Ledger) checkEvidence(ev *membership.Evidence) (*membership.EvidenceReport, error) {
	name := evidenceKey(ev)
	if l.badEvidence[name] {
		return nil, &membership.Error{Code: membership.IntegrityFailure, Msg: "this evidence was checked before and proves nothing"}
	}
	rep, err := l.checkEvidenceOnce(ev)
	if err != nil && membership.CodeOf(err) != membership.FutureEpoch {
		if l.badEvidence == nil || len(l.badEvidence) >= 256 {
			l.badEvidence = map[string]bool{}
		}
		l.badEvidence[name] = true
	}
	return rep, err
}

// evidenceKey identifies evidence by its two update bodies.
func evidenceKey(ev *membership.Evidence) string {
	a, b := sha256.Sum256(ev.Updates[0].BodyBytes()), sha256.Sum256(ev.Updates[1].BodyBytes())
	return string(a[:]) + string(b[:])
}

// checkEvidenceOnce is checkEvidence without its memory of failures. Both
// updates must be signed only by keys the log knows (signedByKnownKeys)
// before any state is rebuilt.
func (l *Ledger) checkEvidenceOnce(ev *membership.Evidence) (*membership.EvidenceReport, error) {
	for i, u := range ev.Updates {
		if !l.signedByKnownKeys(u) {
			return nil, &membership.Error{Code: membership.UnknownSigner, Msg: fmt.Sprintf("update %d of the evidence carries a signature that is not a valid one by a key this network ever had", i+1)}
		}
	}
	k := len(ev.Log)
	head := int(l.head())
	if k == 0 {
		return nil, integrityf("the evidence has no log")
	}
	if k > head {
		return nil, &membership.Error{Code: membership.FutureEpoch, Msg: fmt.Sprintf("the fork is at epoch %d, past this node's head %d: catch up first", k+1, head)}
	}
	ours, err := l.updateRange(1, uint64(min(k+1, head)))
	if err != nil {
		return nil, err
	}
	for i, u := range ev.Log {
		if !bytes.Equal(u.BodyBytes(), ours[i].BodyBytes()) {
			return nil, &membership.Error{Code: membership.WrongPrevRoot, Msg: fmt.Sprintf("the evidence's log differs from this node's at epoch %d", i+1)}
		}
	}
	if k < head && membership.Settles(ours[k], ev) {
		return nil, &membership.Error{Code: membership.IllegalOperation, Msg: fmt.Sprintf("the fork is settled: this node's entry of epoch %d is the approvers' resolution of it", k+1)}
	}
	var pre *membership.State
	switch k {
	case head: // a fork right after this node's head: it saw neither side
		pre = l.chain.State()
	case head - 1:
		pre = l.prevState
	}
	if pre == nil {
		chain, _, err := membership.Replay(ours[:k], l.cfg.GenesisRoot, l.cfg.Limits)
		if err != nil {
			return nil, err
		}
		pre = chain.State()
	}
	rep, err := membership.CheckEquivocation(pre, ev.Updates[0], ev.Updates[1], l.cfg.Limits)
	if err != nil {
		return nil, err
	}
	rep.GenesisRoot = l.roots[0]
	return rep, nil
}
