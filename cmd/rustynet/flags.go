package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// errHelpShown ends a command that printed its help on -h: exit 0.
var errHelpShown = errors.New("help shown")

// flagSet returns a new flag set for the leaf being run, with the global
// --json flag already defined. Parse it with e.parse.
func (e *env) flagSet() *flag.FlagSet {
	fs := flag.NewFlagSet(e.path, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&e.json, "json", e.json, "machine-readable output on stdout")
	return fs
}

// parse parses args with fs, allowing flags before and after positional
// arguments, and returns the positional arguments, of which there must be
// exactly n. On -h it prints the command's help and returns errHelpShown,
// which run reports as success. With e.describe set it parses nothing:
// it hands fs to e.describe and returns errHelpShown, so the leaf ends
// before it does anything.
func (e *env) parse(fs *flag.FlagSet, args []string, n int) ([]string, error) {
	if e.describe != nil {
		e.describe(fs)
		return nil, errHelpShown
	}
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		e.cmd.printLeafHelp(e.stdout, e.path, fs)
		return nil, errHelpShown
	}
	if err != nil {
		return nil, e.usagef("%v", err)
	}
	if err := e.refuseJSON(); err != nil {
		return nil, err
	}
	if len(pos) != n {
		return nil, e.usagef("want %d argument(s), got %d%s", n, len(pos), listed(pos))
	}
	return pos, nil
}

// parseInterleaved parses flags wherever they appear among the positional
// arguments; everything after "--" is positional.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// usagef returns a usage error about the running command, with a pointer
// to its help.
func (e *env) usagef(format string, args ...any) error {
	return withHint(usageErrorf("%s: %s", e.path, fmt.Sprintf(format, args...)), e.path)
}

// require fails unless every named flag was given.
func (e *env) require(fs *flag.FlagSet, names ...string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, n := range names {
		if !given[n] {
			return e.usagef("--%s is required", n)
		}
	}
	return nil
}

// listFlag is a repeatable flag: every use adds one value. An empty value
// (--tag=) adds nothing but still counts as given, so a command can tell
// "set this list to empty" from "leave it alone".
type listFlag struct {
	values []string
	given  bool
}

// String implements flag.Value.
func (l *listFlag) String() string { return strings.Join(l.values, ",") }

// Set implements flag.Value.
func (l *listFlag) Set(v string) error {
	l.given = true
	if v != "" {
		l.values = append(l.values, v)
	}
	return nil
}

// listVar defines a repeatable flag on fs.
func listVar(fs *flag.FlagSet, name, usage string) *listFlag {
	l := &listFlag{}
	fs.Var(l, name, usage+" (repeatable)")
	return l
}

// listed formats unexpected arguments for an error message.
func listed(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return ": " + strings.Join(args, " ")
}
