package ledger

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/internal/atomicfile"
)

// Fork is what a ledger holding evidence of an equivocation reports (see
// docs/forks.md): the evidence, where it is kept, and the floor — the part
// of the trusted state both sides of the fork agree on, which is all the
// data plane may follow while the node is forked.
type Fork struct {
	Report *membership.EvidenceReport
	// Evidence is the evidence itself, Path the file it is kept in ("" if
	// the ledger has no evidence directory).
	Evidence *membership.Evidence
	Path     string
	// Floor is membership.ForkFloor of the trusted state, the state both
	// updates extend and the two states they lead to.
	Floor *membership.State
}

// DefaultEvidenceDir is where a ledger keeps evidence for the state
// directory dir: beside it, in dir + ".evidence" (the store owns dir).
func DefaultEvidenceDir(dir string) string {
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
		l.fork.Report.Summary() + evidenceWhere(l.fork.Path)}
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
	if l.chain == nil || l.restricted != nil || l.fork != nil || e < 2 || e > uint64(len(l.updates)) ||
		u.Body.NetworkID != l.chain.State().NetworkID() || u.Body.PrevStateRoot != l.roots[e-2] {
		return nil
	}
	ours := l.updates[e-1]
	if bytes.Equal(ours.BodyBytes(), u.BodyBytes()) || !l.signedByKnownKeys(u) {
		return nil
	}
	pre := l.prevState
	if e != uint64(len(l.updates)) || pre == nil {
		chain, _, err := membership.Replay(l.updates[:e-1], l.cfg.GenesisRoot, l.cfg.Limits)
		if err != nil {
			return nil // the log verified at Open: cannot happen
		}
		pre = chain.State()
	}
	ev := membership.NewEvidence(l.updates[:e-1], ours, u)
	rep, err := membership.CheckEquivocation(pre, ev.Updates[0], ev.Updates[1], l.cfg.Limits) // in the evidence's order
	if err != nil {
		l.log.Warn("an update conflicting with the trusted log does not verify: not a fork", "epoch", e, "err", err)
		return nil
	}
	rep.GenesisRoot = l.roots[0]
	path, werr := l.writeEvidence(ev, rep)
	if werr != nil {
		l.log.Error("keeping the evidence of a fork failed; the node is forked until it stops", "err", werr)
	}
	l.enterFork(ev, rep, path)
	return l.forkedErr()
}

// signedByKnownKeys reports whether every signature on u verifies over its
// body under a key that signed an entry of the log or is an approver of
// the trusted state. l.mu must be held.
func (l *Ledger) signedByKnownKeys(u *membership.SignedUpdate) bool {
	known := map[membership.ApproverKey]bool{}
	for _, a := range l.chain.State().Approvers() {
		known[a.PublicKey] = true
	}
	for _, e := range l.updates {
		for _, s := range e.Signatures {
			known[s.PublicKey] = true
		}
	}
	if len(u.Signatures) == 0 {
		return false
	}
	for i := range u.Signatures {
		if !known[u.Signatures[i].PublicKey] || !u.VerifySignature(i) {
			return false
		}
	}
	return true
}

// enterFork makes the ledger forked on ev. l.mu must be held.
func (l *Ledger) enterFork(ev *membership.Evidence, rep *membership.EvidenceReport, path string) {
	floor := membership.ForkFloor(l.chain.State(), rep.Pre, rep.Posts[0], rep.Posts[1])
	l.fork = &Fork{Report: rep, Evidence: ev, Path: path, Floor: floor}
	l.log.Error("FORK: this node holds evidence of an equivocation; it accepts no update and its data plane follows only what both sides agree on",
		"epoch", rep.Epoch, "double_signers", strings.Join(rep.DoubleSigners, ","), "evidence", path)
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
// The lowest epoch wins. l.mu need not be held (Open).
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
	var best *Fork
	for _, name := range names {
		path := filepath.Join(dir, name)
		ev, rep, err := l.checkEvidenceFile(path)
		if err != nil {
			l.log.Warn("ignoring a file in the evidence directory that is not evidence of a fork in this node's log", "file", path, "err", err)
			continue
		}
		if best == nil || rep.Epoch < best.Report.Epoch {
			best = &Fork{Report: rep, Evidence: ev, Path: path}
		}
	}
	if best != nil {
		l.enterFork(best.Evidence, best.Report, best.Path)
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
	if l.fork != nil {
		return nil
	}
	if l.chain == nil {
		return integrityf("the ledger holds no log yet")
	}
	rep, err := l.checkEvidence(ev)
	if err != nil {
		return err
	}
	path, werr := l.writeEvidence(ev, rep)
	if werr != nil {
		l.log.Error("keeping the evidence of a fork failed; the node is forked until it stops", "err", werr)
	}
	l.enterFork(ev, rep, path)
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
		return nil, nil, err
	}
	return ev, rep, nil
}

// checkEvidence verifies that ev proves a fork in the trusted log: its
// log is a prefix of ours, and both updates verify on the state that
// prefix leads to (the trusted log's own: the evidence's copy is only
// compared). The node need not hold either update. l.mu must be held, or the ledger not yet shared.
func (l *Ledger) checkEvidence(ev *membership.Evidence) (*membership.EvidenceReport, error) {
	k := len(ev.Log)
	if k == 0 {
		return nil, integrityf("the evidence has no log")
	}
	if k > len(l.updates) {
		return nil, &membership.Error{Code: membership.FutureEpoch, Msg: fmt.Sprintf("the fork is at epoch %d, past this node's head %d: catch up first", k+1, len(l.updates))}
	}
	for i, u := range ev.Log {
		if !bytes.Equal(u.BodyBytes(), l.updates[i].BodyBytes()) {
			return nil, &membership.Error{Code: membership.WrongPrevRoot, Msg: fmt.Sprintf("the evidence's log differs from this node's at epoch %d", i+1)}
		}
	}
	var pre *membership.State
	switch k {
	case len(l.updates): // a fork right after this node's head: it saw neither side
		pre = l.chain.State()
	case len(l.updates) - 1:
		pre = l.prevState
	}
	if pre == nil {
		chain, _, err := membership.Replay(l.updates[:k], l.cfg.GenesisRoot, l.cfg.Limits)
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
