package audit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/internal/poll"
)

// openLog opens a log in a fresh directory (or dir, if given) and closes
// it at cleanup.
func openLog(t *testing.T, dir string, lim Limits) *Log {
	t.Helper()
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "state.audit")
	}
	l, err := Open(Config{Dir: dir, Node: "n1", Limits: lim, RetryInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(l.Close)
	return l
}

func syncLog(t *testing.T, l *Log) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.Sync(ctx); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

// verify runs Verify and fails the test on an I/O error.
func verify(t *testing.T, dir string) ([]*Record, *Report) {
	t.Helper()
	recs, rep, err := Verify(dir)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return recs, rep
}

func kindsOf(recs []*Record) []Kind {
	out := make([]Kind, len(recs))
	for i, r := range recs {
		out[i] = r.Kind
	}
	return out
}

func accepted(epoch uint64) Record {
	return Record{Kind: KindUpdateAccepted, Source: SourceAPI, Epoch: epoch, Root: strings.Repeat("a", 64), PrevEpoch: epoch - 1,
		UpdateID: fmt.Sprintf("%032x", epoch), Op: "add_node", Target: fmt.Sprintf("n%d", epoch), Signers: []string{"a1", "a2"}}
}

func TestRecordsChainAcrossReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state.audit")
	l := openLog(t, dir, Limits{})
	if l.Last() != nil {
		t.Fatalf("a new log has a last trust record: %+v", l.Last())
	}
	l.Record(Record{Kind: KindOpened, Epoch: 1, Root: strings.Repeat("1", 64)})
	l.Record(accepted(2))
	l.Record(Record{Kind: KindUpdateRejected, Source: SourceFeed, Epoch: 2, Code: "BAD_SIGNATURE", Reason: "signature 1 does not verify"})
	l.Close()

	l2 := openLog(t, dir, Limits{})
	if got := l2.Last(); got == nil || got.Kind != KindUpdateAccepted || got.Epoch != 2 {
		t.Fatalf("Last after reopening: got %+v, want the update.accepted of epoch 2", got)
	}
	l2.Record(Record{Kind: KindPluginCrashed, Plugin: "store-file", Restarts: 1, Reason: "process exited"})
	syncLog(t, l2)
	if st := l2.Status(); st.Seq != 4 || st.Failing != "" || st.Lost != 0 {
		t.Errorf("status: got %+v, want seq 4, not failing, nothing lost", st)
	}

	recs, rep := verify(t, dir)
	if !rep.OK {
		t.Fatalf("verify: %v", rep.Error())
	}
	want := []Kind{KindOpened, KindUpdateAccepted, KindUpdateRejected, KindPluginCrashed}
	if diff := cmp.Diff(want, kindsOf(recs)); diff != "" {
		t.Errorf("kinds (-want +got):\n%s", diff)
	}
	for i, r := range recs {
		if r.Seq != uint64(i+1) || r.Node != "n1" || r.V != Version || r.Time == "" {
			t.Errorf("record %d: got seq %d node %q v %d time %q", i, r.Seq, r.Node, r.V, r.Time)
		}
	}
	if rep.FirstSeq != 1 || rep.LastSeq != 4 || rep.Head != recs[3].Hash {
		t.Errorf("report: got first %d last %d head %s", rep.FirstSeq, rep.LastSeq, rep.Head)
	}
	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o700 {
		t.Errorf("directory mode: got %o, want 700", perm)
	}
}

// lines returns the lines of the only segment.
func segmentLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.SplitAfter(string(data), "\n")
}

// writeLines replaces a segment's content.
func writeLines(t *testing.T, path string, lines []string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(lines, "")), 0o600); err != nil {
		t.Fatal(err)
	}
}

// rehash returns line (with its newline) with its hash recomputed, as a
// forger who knows the format would.
func rehash(t *testing.T, line string) string {
	t.Helper()
	r, err := ParseLine([]byte(strings.TrimSuffix(line, "\n")))
	if r == nil {
		t.Fatalf("rehash: %v", err)
	}
	return string(seal(r, r.Prev))
}

func TestVerifyCatchesTampering(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, seg string, lines []string) []string
		want   string // in the first problem
	}{
		{"a field edited", func(t *testing.T, _ string, ls []string) []string {
			ls[2] = strings.Replace(ls[2], `"code":"BAD_SIGNATURE"`, `"code":"EXPIRED"`, 1)
			return ls
		}, "record 3 does not match its hash: it was edited"},
		{"a field edited and its hash recomputed", func(t *testing.T, _ string, ls []string) []string {
			ls[2] = rehash(t, strings.Replace(ls[2], `"code":"BAD_SIGNATURE"`, `"code":"EXPIRED"`, 1))
			return ls
		}, "record 4 does not link to record 3 before it"},
		{"a record removed from the middle", func(t *testing.T, _ string, ls []string) []string {
			return append(ls[:2:2], ls[3:]...)
		}, "records 3 to 3 are missing between record 2 and record 4"},
		{"records reordered", func(t *testing.T, _ string, ls []string) []string {
			ls[2], ls[3] = ls[3], ls[2]
			return ls
		}, "records are out of order"},
		{"records removed from the start", func(t *testing.T, _ string, ls []string) []string {
			return ls[2:]
		}, "the log begins at record 3 with no audit.rotated_out record"},
		{"a line that is not a record", func(t *testing.T, _ string, ls []string) []string {
			ls[1] = "{\"v\":1}\n"
			return ls
		}, "malformed audit record"},
		{"reformatted (not canonical)", func(t *testing.T, _ string, ls []string) []string {
			ls[1] = strings.Replace(ls[1], `,"kind"`, `, "kind"`, 1)
			return ls
		}, "not in canonical form"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state.audit")
			l := openLog(t, dir, Limits{})
			l.Record(Record{Kind: KindOpened, Epoch: 1})
			l.Record(accepted(2))
			l.Record(Record{Kind: KindUpdateRejected, Source: SourceAPI, Code: "BAD_SIGNATURE", Reason: "no"})
			l.Record(accepted(3))
			l.Record(accepted(4))
			l.Close()
			seg := filepath.Join(dir, segmentName(1))
			lines := segmentLines(t, seg)
			lines = lines[:len(lines)-1] // the empty string after the last newline
			writeLines(t, seg, tt.tamper(t, seg, lines))

			_, rep := verify(t, dir)
			if rep.OK {
				t.Fatalf("verify passed a tampered log")
			}
			if got := rep.Problems[0].What; !strings.Contains(got, tt.want) {
				t.Errorf("first problem: got %q, want it to contain %q (all: %v)", got, tt.want, rep.Problems)
			}
		})
	}
}

func TestRotationKeepsTheChainVerifiable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state.audit")
	lim := Limits{SegmentBytes: 2048, Segments: 3}
	l := openLog(t, dir, lim)
	for i := range 60 {
		l.Record(accepted(uint64(i + 2)))
		if i%7 == 0 {
			syncLog(t, l) // several batches, so rotation happens between and within them
		}
	}
	syncLog(t, l)
	l.Close()
	nums, err := segments(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(nums) > lim.Segments {
		t.Errorf("segments: got %d (%v), want at most %d", len(nums), nums, lim.Segments)
	}
	recs, rep := verify(t, dir)
	if !rep.OK {
		t.Fatalf("verify after rotation: %v", rep.Error())
	}
	if rep.RotatedOutBefore == 0 || rep.FirstSeq != rep.RotatedOutBefore {
		t.Errorf("report: got rotated_out_before %d, first %d; want the first retained record", rep.RotatedOutBefore, rep.FirstSeq)
	}
	if last := recs[len(recs)-1]; last.Kind != KindUpdateAccepted || last.Epoch != 61 {
		t.Errorf("last record: got %s epoch %d, want the last update (epoch 61)", last.Kind, last.Epoch)
	}

	// Deleting the oldest retained segment as well is not a rotation.
	if err := os.Remove(filepath.Join(dir, segmentName(nums[0]))); err != nil {
		t.Fatal(err)
	}
	_, rep = verify(t, dir)
	if rep.OK || !strings.Contains(rep.Problems[0].What, "records were removed from the start") {
		t.Errorf("verify after deleting the oldest segment: got ok=%v %v, want records removed from the start", rep.OK, rep.Problems)
	}
}

func TestVerifyCatchesAMissingMiddleSegment(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state.audit")
	l := openLog(t, dir, Limits{SegmentBytes: 1024, Segments: 100})
	for i := range 20 {
		l.Record(accepted(uint64(i + 2)))
		syncLog(t, l)
	}
	l.Close()
	nums, _ := segments(dir)
	if len(nums) < 3 {
		t.Fatalf("want at least 3 segments, got %v", nums)
	}
	if err := os.Remove(filepath.Join(dir, segmentName(nums[1]))); err != nil {
		t.Fatal(err)
	}
	_, rep := verify(t, dir)
	if rep.OK {
		t.Fatal("verify passed a log missing a segment")
	}
	var whats []string
	for _, p := range rep.Problems {
		whats = append(whats, p.What)
	}
	all := strings.Join(whats, "; ")
	for _, want := range []string{fmt.Sprintf("segments %d to %d are missing", nums[1], nums[1]), "missing between record"} {
		if !strings.Contains(all, want) {
			t.Errorf("problems %q: want one containing %q", all, want)
		}
	}
}

func TestATornTailIsCutAndRecorded(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state.audit")
	l := openLog(t, dir, Limits{})
	l.Record(accepted(2))
	l.Close()
	seg := filepath.Join(dir, segmentName(1))
	f, err := os.OpenFile(seg, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	const torn = `{"v":1,"seq":2,"time":"20` // a crash in the middle of a write
	f.WriteString(torn)
	f.Close()
	if _, rep := verify(t, dir); !rep.OK || !rep.TornTail {
		t.Errorf("a torn newest segment: got ok=%v torn=%v, want ok (a crash is not tampering) and torn", rep.OK, rep.TornTail)
	}

	l2 := openLog(t, dir, Limits{})
	l2.Record(accepted(3))
	syncLog(t, l2)
	recs, rep := verify(t, dir)
	if !rep.OK || rep.TornTail {
		t.Fatalf("after reopening: got ok=%v torn=%v (%v), want ok, not torn", rep.OK, rep.TornTail, rep.Error())
	}
	if diff := cmp.Diff([]Kind{KindUpdateAccepted, KindTornTail, KindUpdateAccepted}, kindsOf(recs)); diff != "" {
		t.Errorf("kinds (-want +got):\n%s", diff)
	}
	if recs[1].Lost != uint64(len(torn)) {
		t.Errorf("torn tail: got %d bytes, want %d", recs[1].Lost, len(torn))
	}
}

func TestADamagedTailIsRecordedNotHidden(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state.audit")
	l := openLog(t, dir, Limits{})
	l.Record(accepted(2))
	l.Record(accepted(3))
	l.Close()
	seg := filepath.Join(dir, segmentName(1))
	lines := segmentLines(t, seg)
	lines[1] = strings.Replace(lines[1], `"epoch":3`, `"epoch":9`, 1) // edited, hash not fixed
	writeLines(t, seg, lines)

	l2 := openLog(t, dir, Limits{})
	l2.Record(accepted(4))
	syncLog(t, l2)
	recs, rep := verify(t, dir)
	if rep.OK {
		t.Fatal("verify passed a log whose last record was edited")
	}
	if got := kindsOf(recs); len(got) != 4 || got[2] != KindChainBreak {
		t.Errorf("kinds: got %v, want the edited record followed by audit.chain_break and the new record", got)
	}
}

// blockingFile is a segment file whose writes wait for release, or fail
// while failing is set.
type blockingFile struct {
	segmentFile
	entered chan struct{} // receives a value as each write begins, if not nil
	gate    chan struct{} // nil: no wait
	mu      *sync.Mutex
	failing *bool
}

func (f *blockingFile) Write(p []byte) (int, error) {
	if f.entered != nil {
		f.entered <- struct{}{}
	}
	if f.gate != nil {
		<-f.gate
	}
	f.mu.Lock()
	fail := *f.failing
	f.mu.Unlock()
	if fail {
		return 0, &os.PathError{Op: "write", Path: "segment", Err: syscall.ENOSPC}
	}
	return f.segmentFile.Write(p)
}

// hookFiles makes openFile wrap every segment in a blockingFile.
func hookFiles(t *testing.T, entered, gate chan struct{}, mu *sync.Mutex, failing *bool) {
	t.Helper()
	orig := openFile
	openFile = func(path string, create bool) (segmentFile, error) {
		f, err := orig(path, create)
		if err != nil {
			return nil, err
		}
		return &blockingFile{segmentFile: f, entered: entered, gate: gate, mu: mu, failing: failing}, nil
	}
	t.Cleanup(func() { openFile = orig })
}

func TestAFullQueueNeverBlocksAndTheLossIsRecorded(t *testing.T) {
	entered, gate := make(chan struct{}, 1000), make(chan struct{})
	var mu sync.Mutex
	failing := false
	hookFiles(t, entered, gate, &mu, &failing)
	dir := filepath.Join(t.TempDir(), "state.audit")
	l := openLog(t, dir, Limits{Queue: 4})
	// The writer takes the first event and blocks in its write; four more
	// fill the queue; the rest must be counted, not waited for.
	l.Record(accepted(1))
	<-entered
	const n = 100
	for i := range n - 1 {
		l.Record(accepted(uint64(i + 2)))
	}
	if st := l.Status(); st.Lost != n-1-4 {
		t.Errorf("lost while the writer is blocked: got %d, want %d", st.Lost, n-1-4)
	}
	close(gate)
	l.Record(accepted(1000))
	syncLog(t, l)
	recs, rep := verify(t, dir)
	if !rep.OK {
		t.Fatalf("verify: %v", rep.Error())
	}
	var lost, events uint64
	for _, r := range recs {
		switch r.Kind {
		case KindLost:
			lost += r.Lost
			if !strings.Contains(r.Reason, "queue") || r.FirstTime == "" {
				t.Errorf("audit.lost: got reason %q first_time %q, want the full queue and when", r.Reason, r.FirstTime)
			}
		case KindUpdateAccepted:
			events++
		}
	}
	if lost+events != n+1 {
		t.Errorf("recorded %d events and %d lost, want %d in all", events, lost, n+1)
	}
	if lost != l.Status().Lost {
		t.Errorf("audit.lost says %d, status %d", lost, l.Status().Lost)
	}
}

func TestFailingWritesAreCountedAndTheLogRecovers(t *testing.T) {
	var mu sync.Mutex
	failing := false
	hookFiles(t, nil, nil, &mu, &failing)
	dir := filepath.Join(t.TempDir(), "state.audit")
	l := openLog(t, dir, Limits{})
	l.Record(accepted(2))
	syncLog(t, l)

	mu.Lock()
	failing = true // the disk is full
	mu.Unlock()
	l.Record(accepted(3))
	l.Record(accepted(4))
	syncLog(t, l)
	st := l.Status()
	if st.Failing == "" || !strings.Contains(st.Failing, "no space") || st.Lost != 2 {
		t.Fatalf("status while writes fail: got %+v, want failing with ENOSPC and 2 lost", st)
	}

	mu.Lock()
	failing = false
	mu.Unlock()
	// No new event: the retry alone writes the record of the loss.
	if err := poll.Until(30*time.Second, 5*time.Millisecond, func() bool { return l.Status().Failing == "" }); err != nil {
		t.Fatalf("the log did not recover by itself: %v (status %+v)", err, l.Status())
	}
	l.Record(accepted(5))
	syncLog(t, l)
	recs, rep := verify(t, dir)
	if !rep.OK {
		t.Fatalf("verify: %v", rep.Error())
	}
	if diff := cmp.Diff([]Kind{KindUpdateAccepted, KindLost, KindUpdateAccepted}, kindsOf(recs)); diff != "" {
		t.Fatalf("kinds (-want +got):\n%s", diff)
	}
	if r := recs[1]; r.Lost != 2 || !strings.Contains(r.Reason, "writes failed") {
		t.Errorf("audit.lost: got lost %d reason %q, want 2 lost to failed writes", r.Lost, r.Reason)
	}
}

func TestConcurrentRecords(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state.audit")
	l := openLog(t, dir, Limits{Queue: 10000})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				l.Record(Record{Kind: KindPluginCrashed, Plugin: fmt.Sprintf("p%d", g), Restarts: i})
			}
		})
	}
	wg.Wait()
	syncLog(t, l)
	recs, rep := verify(t, dir)
	if !rep.OK || len(recs) != 400 {
		t.Errorf("got ok=%v and %d records, want ok and 400 (%v)", rep.OK, len(recs), rep.Error())
	}
}

func TestRecordAfterCloseIsIgnored(t *testing.T) {
	l := openLog(t, "", Limits{})
	l.Close()
	l.Record(accepted(2)) // must not panic or block
	var nilLog *Log
	nilLog.Record(accepted(2))
	nilLog.Close()
	if err := l.Sync(context.Background()); err != nil {
		t.Errorf("Sync after Close: %v", err)
	}
}

func TestReasonIsCapped(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state.audit")
	l := openLog(t, dir, Limits{})
	l.Record(Record{Kind: KindUpdateRejected, Code: "NON_CANONICAL", Reason: strings.Repeat("é", 4000)})
	syncLog(t, l)
	recs, rep := verify(t, dir)
	if !rep.OK {
		t.Fatal(rep.Error())
	}
	if n := len(recs[0].Reason); n > MaxReason+len("…") {
		t.Errorf("reason: got %d bytes, want at most %d", n, MaxReason)
	}
}
