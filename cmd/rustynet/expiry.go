package main

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rustynet/rustynet/core/membership"
)

// defaultExpiry is how long a new proposal stays valid unless --expires-in
// says otherwise: a working day for approvers in other time zones to
// review and sign it.
const defaultExpiry = 24 * time.Hour

// maxExpiry is the longest validity an update may have; every node refuses
// a longer one (LIMIT_EXCEEDED), so propose-* refuses it up front.
var maxExpiry = membership.DefaultLimits().MaxValidity

// expiryFlag is --expires-in: a positive duration in Go's syntax (90m,
// 36h) that may start with whole days (7d, 1d12h), at most maxExpiry.
type expiryFlag struct{ d time.Duration }

// String implements flag.Value.
func (f *expiryFlag) String() string { return formatDays(f.d) }

// Set implements flag.Value.
func (f *expiryFlag) Set(s string) error {
	d, err := parseDays(s)
	switch {
	case err != nil:
		return err
	case d <= 0:
		return errors.New("must be positive")
	case d > maxExpiry:
		return fmt.Errorf("%s is longer than the maximum of %s (nodes refuse an update valid for longer)", s, formatDays(maxExpiry))
	}
	f.d = d
	return nil
}

// addExpiryFlag defines --expires-in on fs; what says what the time is
// for.
func addExpiryFlag(fs *flag.FlagSet, what string) *expiryFlag {
	f := &expiryFlag{d: defaultExpiry}
	fs.Var(f, "expires-in", what+": a `DURATION` such as 36h, 7d or 1d12h, at most "+formatDays(maxExpiry))
	return f
}

// parseDays parses a duration as time.ParseDuration does, allowing a
// leading count of whole days ("7d", "1d12h").
func parseDays(s string) (time.Duration, error) {
	bad := fmt.Errorf("%q is not a duration such as 36h, 7d or 1d12h", s)
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseUint(s[:i], 10, 16) // a uint16 of days fits a Duration
		if err != nil {
			return 0, bad
		}
		days, s = time.Duration(n)*24*time.Hour, s[i+1:]
		if s == "" {
			return days, nil
		}
		if s[0] == '-' || s[0] == '+' {
			return 0, bad
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, bad
	}
	return days + d, nil
}

// formatDays formats d compactly as parseDays reads it, in days from two
// days on: "1h30m", "24h", "36h", "7d", "2d12h".
func formatDays(d time.Duration) string {
	if d <= 0 || d%time.Second != 0 {
		return d.String()
	}
	var b strings.Builder
	if d >= 48*time.Hour {
		fmt.Fprintf(&b, "%dd", d/(24*time.Hour))
		d %= 24 * time.Hour
	}
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := d / u.unit; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d %= u.unit
		}
	}
	return b.String()
}
