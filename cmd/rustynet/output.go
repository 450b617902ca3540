package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	json "github.com/go-json-experiment/json/v1" // encoding/json's API and output on encoding/json/v2's faster engine
)

// printJSON writes v to stdout as one indented JSON document.
func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return internalErrorf("encoding JSON output: %v", err)
	}
	return nil
}

// newTable returns a tabwriter for aligned text columns.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// writeColumns writes rows as newTable aligns tab-separated cells: every
// column but the last padded to its widest cell (in runes) plus two
// spaces. It is for tables of thousands of rows (a status's peers), which
// it writes in one buffer and a tenth of tabwriter's time.
func writeColumns(w io.Writer, rows [][]string) error {
	var widths []int
	for _, r := range rows {
		for i, c := range r[:max(len(r)-1, 0)] {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	size := 0
	for _, r := range rows {
		for _, c := range r {
			size += len(c) + 2
		}
		size++
	}
	b := make([]byte, 0, size+len(rows)*sumOf(widths))
	for _, r := range rows {
		for i, c := range r {
			b = append(b, c...)
			if i < len(r)-1 {
				for range widths[i] - utf8.RuneCountInString(c) + 2 {
					b = append(b, ' ')
				}
			}
		}
		b = append(b, '\n')
	}
	_, err := w.Write(b)
	return err
}

func sumOf(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// cell joins a list for a table cell; an empty list shows as "-".
func cell(xs []string) string {
	if len(xs) == 0 {
		return "-"
	}
	return strings.Join(xs, ",")
}

// stringsOf returns the text forms of xs; never nil, so JSON shows [].
func stringsOf[T fmt.Stringer](xs []T) []string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = x.String()
	}
	return s
}

// formatUnix formats unix seconds as RFC 3339 UTC.
func formatUnix(sec int64) string {
	return time.Unix(sec, 0).UTC().Format(time.RFC3339)
}

// formatBytes formats a byte count for people in binary units with one
// decimal: "512 B", "4.4 KiB", "1.0 MiB". JSON output keeps raw counts.
func formatBytes(n uint64) string {
	var b [32]byte // a status prints thousands: strconv, not fmt
	if n < 1024 {
		return string(append(strconv.AppendUint(b[:0], n, 10), " B"...))
	}
	v := float64(n) / 1024
	units := [...]string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	i := 0
	for v >= 1024-0.05 && i < len(units)-1 { // 1023.96 KiB reads as 1.0 MiB, not 1024.0 KiB
		v /= 1024
		i++
	}
	return string(append(append(strconv.AppendFloat(b[:0], v, 'f', 1, 64), ' '), units[i]...))
}

// formatAge formats an age or a wait for people: its two most significant
// units, as --expires-in reads them ("45s", "10m5s", "1h30m", "2d1h");
// under a second, or negative (a clock ahead of ours), "0s". JSON output
// keeps timestamps and raw seconds.
func formatAge(d time.Duration) string {
	switch {
	case d < time.Second:
		return "0s"
	case d < time.Hour:
		d = d.Round(time.Second)
	case d < 48*time.Hour:
		d = d.Round(time.Minute)
	default:
		d = d.Round(time.Hour)
	}
	return formatDays(d)
}
