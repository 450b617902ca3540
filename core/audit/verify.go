package audit

import (
	"cmp"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// Report is the verdict of Verify on an audit directory.
type Report struct {
	Dir string `json:"dir"`
	// OK: every record verifies and links to the one before, from the
	// first record ever written or from the last segment rotated out.
	OK       bool          `json:"ok"`
	Segments []SegmentInfo `json:"segments"`
	Records  int           `json:"records"`
	FirstSeq uint64        `json:"first_seq"`
	LastSeq  uint64        `json:"last_seq"`
	// Head is the hash of the last record: compare it with a copy taken
	// earlier (or with another node's report) to detect a cut-off tail,
	// which nothing inside the log can reveal.
	Head string `json:"head"`
	// RotatedOutBefore, if not zero, is the first retained record: older
	// ones were deleted by rotation, as a retained audit.rotated_out
	// record attests.
	RotatedOutBefore uint64 `json:"rotated_out_before,omitempty"`
	// TornTail: the newest segment ends in a partial line — a write in
	// progress, or one a crash cut short (the writer cuts it off and
	// records audit.torn_tail when it next opens the log). Not a problem.
	TornTail bool      `json:"torn_tail"`
	Problems []Problem `json:"problems"`
}

// SegmentInfo describes one segment file.
type SegmentInfo struct {
	Name    string `json:"name"`
	Bytes   int    `json:"bytes"`
	Records int    `json:"records"`
}

// Problem is one thing Verify found wrong, where it found it.
type Problem struct {
	Segment string `json:"segment"`
	Line    int    `json:"line"` // 1-based, within the segment
	Seq     uint64 `json:"seq,omitempty"`
	What    string `json:"what"`
}

func (p Problem) String() string {
	switch {
	case p.Segment == "":
		return p.What
	case p.Line == 0:
		return p.Segment + ": " + p.What
	}
	return fmt.Sprintf("%s line %d: %s", p.Segment, p.Line, p.What)
}

// Error returns the report's problems as one error, nil if it is OK.
func (r *Report) Error() error {
	if r.OK {
		return nil
	}
	msg := fmt.Sprintf("%d problem(s) in the audit log %s", len(r.Problems), r.Dir)
	for i, p := range r.Problems {
		if i == 3 {
			msg += fmt.Sprintf("; and %d more", len(r.Problems)-i)
			break
		}
		msg += "; " + p.String()
	}
	return errors.New(msg)
}

// maxVerifySegment bounds how much of one segment Verify reads: far more
// than a writer ever puts in one (Limits.SegmentBytes plus one batch).
const maxVerifySegment = 256 << 20

// Verify reads every segment in dir and checks the chain: each line is a
// record that hashes to its own hash (an edit is caught), each record's
// seq is one more than the previous one's and its prev is the previous
// one's hash (a record removed or inserted in the middle, or records
// reordered, are caught, within a segment and across segments), and the
// first record is the first ever written or follows a segment whose
// removal a retained audit.rotated_out record attests (records removed at
// the start without rotation are caught). It returns the records that
// parsed, in file order, with the verdict; the error is for a directory
// that cannot be read at all.
//
// A cut-off tail (the newest records deleted) leaves a valid, shorter
// chain: compare Report.Head and LastSeq with an earlier copy or with the
// daemon's own count (Status).
func Verify(dir string) ([]*Record, *Report, error) {
	rep := &Report{Dir: dir, Segments: []SegmentInfo{}, Problems: []Problem{}}
	nums, err := segments(dir)
	if err != nil {
		return nil, nil, err
	}
	var recs []*Record
	type at struct {
		seg  string
		line int
	}
	var where []at // where[i] is where recs[i] was read
	problem := func(a at, seq uint64, format string, args ...any) {
		rep.Problems = append(rep.Problems, Problem{Segment: a.seg, Line: a.line, Seq: seq, What: fmt.Sprintf(format, args...)})
	}
	for i, n := range nums {
		name := segmentName(n)
		if i > 0 && n != nums[i-1]+1 {
			problem(at{name, 0}, 0, "segments %d to %d are missing", nums[i-1]+1, n-1)
		}
		data, cut, err := readSegment(filepath.Join(dir, name), maxVerifySegment)
		if err != nil {
			return nil, nil, err
		}
		if cut {
			problem(at{name, 0}, 0, "the segment is larger than %d bytes; the rest was not read", maxVerifySegment)
		}
		lines, partial := splitLines(data)
		info := SegmentInfo{Name: name, Bytes: len(data)}
		if len(partial) > 0 {
			if i == len(nums)-1 {
				rep.TornTail = true
			} else {
				problem(at{name, len(lines) + 1}, 0, "an older segment ends in a partial line of %d bytes", len(partial))
			}
		}
		for j, line := range lines {
			a := at{name, j + 1}
			r, err := ParseLine(line)
			if err != nil && !errors.Is(err, ErrEdited) {
				problem(a, 0, "%v", err)
				continue
			}
			if err != nil {
				problem(a, r.Seq, "record %d does not match its hash: it was edited", r.Seq)
			}
			info.Records++
			recs = append(recs, r)
			where = append(where, a)
		}
		rep.Segments = append(rep.Segments, info)
	}
	// The chain, over the records that parsed. A jump in seq is a removal
	// unless the records skipped appear elsewhere: then it is a reordering.
	present := make(map[uint64]bool, len(recs))
	var rotated []*Record
	for _, r := range recs {
		present[r.Seq] = true
		if r.Kind == KindRotatedOut {
			rotated = append(rotated, r)
		}
	}
	for i := 1; i < len(recs); i++ {
		r, prev, a := recs[i], recs[i-1], where[i]
		switch {
		case r.Seq <= prev.Seq || (r.Seq > prev.Seq+1 && present[prev.Seq+1]):
			problem(a, r.Seq, "record %d follows record %d: records are out of order", r.Seq, prev.Seq)
		case r.Seq > prev.Seq+1:
			problem(a, r.Seq, "records %d to %d are missing between record %d and record %d (removed from the middle)",
				prev.Seq+1, r.Seq-1, prev.Seq, r.Seq)
		case r.Prev != prev.Hash:
			problem(a, r.Seq, "record %d does not link to record %d before it: a record was replaced or the records reordered",
				r.Seq, prev.Seq)
		}
	}
	var first, prev *Record
	var firstAt at
	if len(recs) > 0 {
		first, firstAt, prev = recs[0], where[0], recs[len(recs)-1]
	}
	rep.Records = len(recs)
	if first != nil {
		rep.FirstSeq, rep.LastSeq, rep.Head = first.Seq, prev.Seq, prev.Hash
		if first.Seq != 1 || first.Prev != zeroHash {
			if marker := rotatedBefore(rotated, first); marker != nil {
				rep.RotatedOutBefore = first.Seq
			} else {
				problem(firstAt, first.Seq, "the log begins at record %d with no audit.rotated_out record for what came before: records were removed from the start", first.Seq)
			}
		}
	}
	slices.SortStableFunc(rep.Problems, func(a, b Problem) int {
		return cmp.Or(strings.Compare(a.Segment, b.Segment), cmp.Compare(a.Line, b.Line))
	})
	rep.OK = len(rep.Problems) == 0
	return recs, rep, nil
}

// rotatedBefore returns the rotation record that accounts for everything
// before first: the segment it removed ended with the record first links to.
func rotatedBefore(rotated []*Record, first *Record) *Record {
	for _, m := range rotated {
		if m.LastSeq+1 == first.Seq && m.LastHash == first.Prev {
			return m
		}
	}
	return nil
}
