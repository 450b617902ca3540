package config

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Error is a problem with a configuration: where it is and what is wrong.
// ReadPrivateKey returns one; Parse, Load, Check and Validate return every
// problem they find in an ErrorList.
type Error struct {
	File string // the configuration file's name as given to Load or Parse
	Line int    // 1-based line of the key's value; 0 if unknown
	Key  string // dotted TOML key, e.g. "proxy.forward.listen"; empty for syntax errors without one
	Msg  string
}

// Error returns "file:line: key: msg", leaving out ":line" when the line is
// unknown and "key: " when there is no key.
func (e *Error) Error() string {
	s := e.File
	if e.Line > 0 {
		s += ":" + strconv.Itoa(e.Line)
	}
	s += ": "
	if e.Key != "" {
		s += e.Key + ": "
	}
	return s + e.Msg
}

// ErrorList is every problem found in one configuration, in the order of
// the file: by line, problems whose line is unknown last. Every error
// Parse, Load, Check and Validate return for a bad configuration is a
// non-empty ErrorList; errors.As(err, &e) with e an *Error finds its first
// problem.
type ErrorList []*Error

// Error returns the problems one per line, each as *Error prints it.
func (l ErrorList) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap returns the problems, for errors.Is and errors.As.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// sort puts l in the order of the file, keeping the order of problems on
// one line.
func (l ErrorList) sort() {
	slices.SortStableFunc(l, func(a, b *Error) int {
		return cmp.Compare(uint(a.Line-1), uint(b.Line-1)) // unknown lines (0) sort last
	})
}

// err returns l in the order of the file, or nil if it is empty.
func (l ErrorList) err() error {
	if len(l) == 0 {
		return nil
	}
	l.sort()
	return l
}
