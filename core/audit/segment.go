package audit

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// DirFor returns the audit directory of the node whose store keeps
// stateDir: the sibling directory <stateDir>.audit. It is beside the
// state, not in it: the store plugin owns the state directory, and a
// restore moves that directory aside while the audit trail must go on.
func DirFor(stateDir string) string {
	return filepath.Clean(stateDir) + ".audit"
}

// Segment files are audit-<8 decimal digits>.jsonl, numbered from 1; the
// highest number is the one being written.
const (
	segPrefix = "audit-"
	segSuffix = ".jsonl"
)

func segmentName(n uint64) string { return fmt.Sprintf("%s%08d%s", segPrefix, n, segSuffix) }

// segmentNumber parses a segment's file name.
func segmentNumber(name string) (uint64, bool) {
	if !strings.HasPrefix(name, segPrefix) || !strings.HasSuffix(name, segSuffix) {
		return 0, false
	}
	digits := strings.TrimSuffix(strings.TrimPrefix(name, segPrefix), segSuffix)
	if len(digits) != 8 {
		return 0, false
	}
	var n uint64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, n > 0
}

// segments lists the segment numbers in dir, oldest first; other files
// are ignored.
func segments(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []uint64
	for _, e := range entries {
		if n, ok := segmentNumber(e.Name()); ok && e.Type().IsRegular() {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// readSegment reads a segment of at most limit bytes; a longer one is
// read up to limit and reported as cut.
func readSegment(path string, limit int64) (data []byte, cut bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	data, err = io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, false, err
	}
	if int64(len(data)) > limit {
		return data[:limit], true, nil
	}
	return data, false, nil
}

// splitLines splits a segment's bytes into its complete lines (without
// their newlines) and what follows the last newline (a partial line: a
// write cut short, or still in progress).
func splitLines(data []byte) (lines [][]byte, partial []byte) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return lines, data
		}
		lines = append(lines, data[:i])
		data = data[i+1:]
	}
	return lines, nil
}
