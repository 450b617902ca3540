package audit

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rustynet/rustynet/internal/atomicfile"
	"github.com/rustynet/rustynet/internal/fileperm"
)

// Limits bound an audit log. The zero value of a field means its default.
type Limits struct {
	// SegmentBytes: a segment that has reached it is closed and the next
	// one begun. Default 1 MiB.
	SegmentBytes int64
	// Segments: with more, the oldest is deleted (after an
	// audit.rotated_out record naming it is durable). Default 8, so the
	// log keeps at most about 8 MiB, the newest 7 to 8 MiB of history.
	Segments int
	// Queue: events waiting to be written; an event recorded while it is
	// full is counted, not kept (see audit.lost). Default 1024.
	Queue int
}

func (l Limits) withDefaults() Limits {
	if l.SegmentBytes <= 0 {
		l.SegmentBytes = 1 << 20
	}
	if l.Segments <= 0 {
		l.Segments = 8
	}
	if l.Segments < 2 {
		l.Segments = 2 // the one being written and the one before it
	}
	if l.Queue <= 0 {
		l.Queue = 1024
	}
	return l
}

// Config configures a Log.
type Config struct {
	// Dir is the audit directory (DirFor(stateDir)); created 0700 if
	// missing.
	Dir string
	// Node is the recording node's id, written into every record.
	Node   string
	Limits Limits
	// RetryInterval is how often a failing log retries while nothing new
	// is recorded; 0 means 5s.
	RetryInterval time.Duration
	// Now is the clock of the records' times; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Log is an open audit log: a single writer appending hash-chained
// records to the newest segment of its directory. Record never blocks and
// never fails; a goroutine writes what was recorded, in order, in batches,
// each made durable (fsync) before the next. Nothing the log does can
// hold up its caller: when the queue is full or the disk refuses writes,
// events are counted and the loss is itself recorded (audit.lost) as soon
// as a write succeeds again; Status says while writes fail.
//
// A Log is safe for concurrent use.
type Log struct {
	cfg    Config
	lim    Limits
	log    *slog.Logger
	ch     chan Record
	flush  chan chan struct{}
	stop   chan struct{}
	done   chan struct{}
	closed atomic.Bool
	once   sync.Once

	// dropped counts events Record could not queue; droppedFirst is the
	// time of the first of them (unix nanoseconds), 0 if none.
	dropped      atomic.Uint64
	droppedFirst atomic.Int64

	// last is the newest trust-bearing record found at Open.
	last *Record

	// Owned by the writer goroutine (and by Open before it starts).
	w writerState

	mu     sync.Mutex // guards status
	status Status
}

// writerState is the writer goroutine's own state.
type writerState struct {
	file    segmentFile // nil: reopen the tail before the next write
	segNum  uint64
	segSize int64
	seq     uint64 // of the last durable record
	head    string // its hash
	// pending markers, written before the next events
	torn       int64
	chainBreak int
	// events lost to failed writes since the last durable write
	failLost  uint64
	failFirst string
	failErr   error
}

// Status is what a Log reports about itself.
type Status struct {
	Dir  string `json:"dir"`
	Seq  uint64 `json:"seq"`  // the last durable record
	Head string `json:"head"` // its hash
	// Lost counts events not recorded since Open (queue full or writes
	// failing); each loss is itself recorded once writes succeed.
	Lost uint64 `json:"lost"`
	// Failing is why the last write failed; empty while writes succeed.
	Failing string `json:"failing,omitempty"`
}

// segmentFile is what the writer needs of a segment's file (tests
// substitute one that fails).
type segmentFile interface {
	Write([]byte) (int, error)
	Sync() error
	Truncate(int64) error
	Close() error
}

// openFile opens a segment for appending; a variable so tests can make
// writes fail.
var openFile = func(path string, create bool) (segmentFile, error) {
	flag := os.O_WRONLY | os.O_APPEND
	if create {
		flag |= os.O_CREATE | os.O_EXCL
	}
	return os.OpenFile(path, flag, 0o600)
}

// Open opens the audit log in cfg.Dir for writing, creating the directory
// (0700) if needed. It cuts off a partial last line (a crash in the middle
// of a write) and finds the last record that verifies, to chain on from it;
// both repairs are recorded as the first new records (audit.torn_tail,
// audit.chain_break). Open fails only when the directory cannot be created
// or read, or the newest segment cannot be opened; the caller then runs
// without an audit log and says so.
func Open(cfg Config) (*Log, error) {
	if cfg.Dir == "" {
		return nil, errors.New("audit: no directory")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = 5 * time.Second
	}
	l := &Log{cfg: cfg, lim: cfg.Limits.withDefaults(), log: cfg.Logger.With("audit", cfg.Dir),
		flush: make(chan chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	l.ch = make(chan Record, l.lim.Queue)
	if err := makeDir(cfg.Dir); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	if err := l.openTail(true); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	l.setStatus()
	go l.run()
	return l, nil
}

// makeDir creates dir private (0700; an owner-only ACL on Windows) if it
// does not exist.
func makeDir(dir string) error {
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		return fileperm.MakePrivate(dir)
	} else if err != nil {
		return err
	}
	return nil
}

// openTail finds the end of the chain and opens the newest segment for
// appending (creating segment 1 in an empty directory). With scan, it
// also remembers the newest trust-bearing record (Last).
func (l *Log) openTail(scan bool) error {
	w := &l.w
	nums, err := segments(l.cfg.Dir)
	if err != nil {
		return err
	}
	w.seq, w.head = 0, zeroHash
	if len(nums) == 0 {
		return l.createSegment(1)
	}
	newest := nums[len(nums)-1]
	limit := 4*l.lim.SegmentBytes + maxLine // a segment written by this code is far smaller
	found, fresh := false, false
	for i := len(nums) - 1; i >= 0; i-- {
		if found && (!scan || l.last != nil || i < len(nums)-2) {
			break // the newest two segments are enough to find the last trust record
		}
		path := filepath.Join(l.cfg.Dir, segmentName(nums[i]))
		data, cut, err := readSegment(path, limit)
		if err != nil {
			return err
		}
		lines, partial := splitLines(data)
		if nums[i] == newest {
			switch {
			case cut:
				// Not written by this code (it was grown by something
				// else): chain on in a new segment from what verifies.
				fresh = true
				w.chainBreak++
			case len(partial) > 0:
				// A write cut short: remove the partial line so the next
				// record starts on a line of its own.
				if err := os.Truncate(path, int64(len(data)-len(partial))); err != nil {
					return err
				}
				w.torn += int64(len(partial))
				l.log.Warn("audit log ended in a partial line (a crash during a write); cut it off", "bytes", len(partial))
			}
		}
		skipped := 0
		for j := len(lines) - 1; j >= 0; j-- {
			r, err := ParseLine(lines[j])
			if err != nil {
				if !found {
					skipped++
				}
				continue
			}
			if !found {
				w.seq, w.head, found = r.Seq, r.Hash, true
			}
			if scan && l.last == nil && trustBearing(r.Kind) {
				l.last = r
			}
			if !scan || l.last != nil {
				break
			}
		}
		if skipped > 0 {
			w.chainBreak += skipped
			l.log.Error("the newest audit records do not verify; chaining on from the last that does (`rustynet audit verify` reports the damage)",
				"segment", segmentName(nums[i]), "skipped_lines", skipped)
		}
	}
	if fresh {
		return l.createSegment(newest + 1)
	}
	return l.openSegment(newest)
}

// trustBearing reports whether records of kind k state the node's trusted
// head (what Last returns).
func trustBearing(k Kind) bool {
	switch k {
	case KindOpened, KindClosed, KindUpdateAccepted, KindTrustRestricted, KindTrustRecovered, KindTrustChanged:
		return true
	}
	return false
}

// Last returns the newest record, found when the log was opened, that
// states the node's trusted head (audit.opened, audit.closed,
// update.accepted, trust.*), or nil: what the node last recorded about its
// trust before this start.
func (l *Log) Last() *Record {
	if l.last == nil {
		return nil
	}
	r := *l.last
	return &r
}

func (l *Log) openSegment(n uint64) error {
	f, err := openFile(filepath.Join(l.cfg.Dir, segmentName(n)), false)
	if err != nil {
		return err
	}
	info, err := os.Stat(filepath.Join(l.cfg.Dir, segmentName(n)))
	if err != nil {
		f.Close()
		return err
	}
	l.w.file, l.w.segNum, l.w.segSize = f, n, info.Size()
	return nil
}

func (l *Log) createSegment(n uint64) error {
	f, err := openFile(filepath.Join(l.cfg.Dir, segmentName(n)), true)
	if err != nil {
		return err
	}
	if err := atomicfile.SyncDir(l.cfg.Dir); err != nil {
		f.Close()
		return err
	}
	l.w.file, l.w.segNum, l.w.segSize = f, n, 0
	return nil
}

// Record queues r to be written. It never blocks: with the queue full, r
// is counted as lost (see audit.lost). After Close it does nothing.
func (l *Log) Record(r Record) {
	if l == nil || l.closed.Load() {
		return
	}
	now := l.cfg.Now().UTC()
	if r.Time == "" {
		r.Time = now.Format(time.RFC3339Nano)
	}
	r.Reason = clip(r.Reason, MaxReason)
	select {
	case l.ch <- r:
	default:
		l.dropped.Add(1)
		l.droppedFirst.CompareAndSwap(0, now.UnixNano())
		l.mu.Lock()
		l.status.Lost++
		l.mu.Unlock()
	}
}

// Sync waits until every record queued before it is durable, or has been
// counted lost, or ctx is done.
func (l *Log) Sync(ctx context.Context) error {
	if l == nil || l.closed.Load() {
		return nil
	}
	done := make(chan struct{})
	select {
	case l.flush <- done:
	case <-l.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes what is queued and closes the log; records arriving after
// it are ignored. Idempotent.
func (l *Log) Close() {
	if l == nil {
		return
	}
	l.once.Do(func() {
		l.closed.Store(true)
		close(l.stop)
		<-l.done
	})
}

// Status reports the log's position and health.
func (l *Log) Status() Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status
}

func (l *Log) setStatus() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.status.Dir, l.status.Seq, l.status.Head = l.cfg.Dir, l.w.seq, l.w.head
	l.status.Failing = ""
	if l.w.failErr != nil {
		l.status.Failing = l.w.failErr.Error()
	}
}

// run is the writer goroutine.
func (l *Log) run() {
	defer close(l.done)
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	for {
		var batch []Record
		var waiting []chan struct{}
		stopping := false
		select {
		case r := <-l.ch:
			batch = append(batch, r)
		case f := <-l.flush:
			waiting = append(waiting, f)
		case <-retry.C:
		case <-l.stop:
			stopping = true
		}
	drain:
		for {
			select {
			case r := <-l.ch:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		l.write(batch)
		for _, f := range waiting {
			close(f)
		}
		if stopping {
			if l.w.file != nil {
				l.w.file.Close()
				l.w.file = nil
			}
			return
		}
		if l.w.failErr != nil {
			retry.Reset(l.cfg.RetryInterval)
		}
	}
}

// write makes the pending markers and batch durable, beginning a new
// segment whenever the open one has reached the size limit. On failure
// what was not durable is counted lost, and the next write starts by
// reopening (and repairing) the tail.
func (l *Log) write(batch []Record) {
	defer l.setStatus()
	w := &l.w
	recs := append(l.markers(), batch...)
	if len(recs) == 0 && w.failErr == nil {
		return
	}
	if w.file == nil {
		if err := l.openTail(false); err != nil {
			l.fail(err, recs)
			return
		}
		recs = append(l.markers(), recs...) // a repair the reopening made
	}
	var buf []byte
	seq, head := w.seq, w.head
	var rotated []*Record // in buf: delete their segments once it is durable
	flush := func() error {
		if err := l.commit(buf, seq, head); err != nil {
			return err
		}
		for _, m := range rotated {
			l.deleteRotated(m)
		}
		buf, rotated = nil, nil
		return nil
	}
	start := 0 // recs[start:] are not durable yet
	for i := range recs {
		if w.segSize+int64(len(buf)) >= l.lim.SegmentBytes {
			if err := flush(); err != nil {
				l.fail(err, recs[start:])
				return
			}
			start = i
			m, err := l.rotate()
			if err != nil {
				l.fail(err, recs[start:])
				return
			}
			if m != nil {
				m.Seq = seq + 1
				buf = append(buf, seal(m, head)...)
				seq, head = m.Seq, m.Hash
				rotated = append(rotated, m)
			}
		}
		r := &recs[i]
		r.V, r.Node, r.Seq = Version, l.cfg.Node, seq+1
		buf = append(buf, seal(r, head)...)
		seq, head = r.Seq, r.Hash
	}
	if err := flush(); err != nil {
		l.fail(err, recs[start:])
		return
	}
	if w.failErr != nil {
		l.log.Info("audit log writes succeed again")
	}
	w.failErr = nil
}

// markers returns the log's own records due before the next events (a
// repair made at open; events lost to a full queue or to failed writes)
// and clears what they report; fail puts it back if they are not written.
func (l *Log) markers() []Record {
	w := &l.w
	now := l.cfg.Now().UTC().Format(time.RFC3339Nano)
	var out []Record
	if w.torn > 0 {
		out = append(out, Record{Time: now, Kind: KindTornTail, Lost: uint64(w.torn),
			Reason: "the newest segment ended in a partial line (a crash during a write); it was cut off"})
	}
	if w.chainBreak > 0 {
		out = append(out, Record{Time: now, Kind: KindChainBreak, Lost: uint64(w.chainBreak),
			Reason: "lines at the end of the log did not verify when it was opened; the chain continues from the last record that did"})
	}
	lost, first := w.failLost, w.failFirst
	var why []string
	if lost > 0 && w.failErr != nil {
		why = append(why, "writes failed: "+w.failErr.Error())
	}
	if n := l.dropped.Swap(0); n > 0 {
		lost += n
		first = earlier(first, time.Unix(0, l.droppedFirst.Swap(0)).UTC().Format(time.RFC3339Nano))
		why = append(why, fmt.Sprintf("the queue of %d events was full", l.lim.Queue))
	}
	if lost > 0 {
		out = append(out, Record{Time: now, Kind: KindLost, Lost: lost, FirstTime: first, Reason: strings.Join(why, "; ")})
	}
	w.torn, w.chainBreak, w.failLost, w.failFirst = 0, 0, 0, ""
	return out
}

// earlier returns the earlier of two RFC 3339 UTC times ("" is none).
func earlier(a, b string) string {
	if a == "" || (b != "" && b < a) {
		return b
	}
	return a
}

// commit appends buf (whole records ending at seq, hashing to head) to
// the open segment and syncs it; on failure it cuts the segment back.
func (l *Log) commit(buf []byte, seq uint64, head string) error {
	w := &l.w
	if len(buf) == 0 {
		return nil
	}
	n, err := w.file.Write(buf)
	if err == nil {
		err = w.file.Sync()
	}
	if err != nil {
		if n > 0 {
			if terr := w.file.Truncate(w.segSize); terr != nil {
				l.log.Warn("audit log: cutting back a failed write", "err", terr)
			}
		}
		w.file.Close()
		w.file = nil // reopen (and repair) before the next write
		return err
	}
	w.segSize += int64(len(buf))
	w.seq, w.head = seq, head
	return nil
}

// rotate closes the full segment and begins the next. If that leaves more
// than Limits.Segments, it returns the audit.rotated_out record for the
// oldest, which the caller writes before deleting it (deleteRotated).
func (l *Log) rotate() (*Record, error) {
	w := &l.w
	w.file.Close()
	w.file = nil
	if err := l.createSegment(w.segNum + 1); err != nil {
		return nil, err
	}
	nums, err := segments(l.cfg.Dir)
	if err != nil || len(nums) <= l.lim.Segments {
		return nil, err
	}
	oldest := nums[0]
	m := &Record{V: Version, Node: l.cfg.Node, Time: l.cfg.Now().UTC().Format(time.RFC3339Nano), Kind: KindRotatedOut,
		Segment: segmentName(oldest), Reason: fmt.Sprintf("the log keeps at most %d segments of %d bytes", l.lim.Segments, l.lim.SegmentBytes)}
	data, _, err := readSegment(filepath.Join(l.cfg.Dir, m.Segment), 4*l.lim.SegmentBytes+maxLine)
	if err != nil {
		return nil, err
	}
	lines, _ := splitLines(data)
	// As the records say of themselves: an edited record still names its
	// seq and hash (Verify reports the edit while the segment exists).
	if len(lines) > 0 {
		if r, _ := ParseLine(lines[0]); r != nil {
			m.FirstSeq = r.Seq
		}
		if r, _ := ParseLine(lines[len(lines)-1]); r != nil {
			m.LastSeq, m.LastHash = r.Seq, r.Hash
		}
	}
	return m, nil
}

// deleteRotated deletes the segment a durable audit.rotated_out record
// names.
func (l *Log) deleteRotated(m *Record) {
	if err := os.Remove(filepath.Join(l.cfg.Dir, m.Segment)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		l.log.Warn("audit log: deleting a rotated-out segment", "segment", m.Segment, "err", err)
		return
	}
	if err := atomicfile.SyncDir(l.cfg.Dir); err != nil {
		l.log.Warn("audit log: syncing the directory", "err", err)
	}
}

// fail records that a write failed: recs were not made durable. The
// callers' events among them are counted lost, and the log's own records
// are put back to be written once a write succeeds (a rotation record is
// simply made again at the next rotation).
func (l *Log) fail(err error, recs []Record) {
	w := &l.w
	if w.failErr == nil {
		l.log.Error("audit log write failed; events are counted and the log retries (applies are not held up)", "err", err)
	}
	w.failErr = err
	events := 0
	for _, r := range recs {
		switch r.Kind {
		case KindLost:
			w.failLost += r.Lost
			w.failFirst = earlier(w.failFirst, r.FirstTime)
		case KindTornTail:
			w.torn += int64(r.Lost)
		case KindChainBreak:
			w.chainBreak += int(r.Lost)
		case KindRotatedOut:
		default:
			events++
			w.failLost++
			w.failFirst = earlier(w.failFirst, r.Time)
		}
	}
	l.mu.Lock()
	l.status.Lost += uint64(events)
	l.mu.Unlock()
}
