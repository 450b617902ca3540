package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// command is one node of the command tree: a group, which has subcommands,
// or a leaf, which has a run function.
type command struct {
	name    string
	args    string // synopsis of a leaf's flags and arguments, for usage
	summary string // one line, shown in the group's listing
	help    string // optional paragraph shown by -h
	hidden  bool   // left out of the group's listing (internal commands)
	// noJSON, on a leaf, says why it has no JSON output; --json then
	// ends it with a usage error saying so (refuseJSON). A leaf without
	// it prints its result as JSON under --json (TestEveryCommandJSON).
	noJSON string
	subs   []*command
	run    func(ctx context.Context, e *env, args []string) error
}

// execute runs c with args; parent is the full name of c's parent ("" for
// the root). A group parses its own flags (-h, --json), then hands the rest
// to the subcommand named by the first argument.
func (c *command) execute(ctx context.Context, e *env, parent string, args []string) error {
	path := strings.TrimSpace(parent + " " + c.name)
	if c.run != nil {
		e.cmd, e.path = c, path
		if err := e.refuseJSON(); err != nil {
			return err
		}
		return c.run(ctx, e, args)
	}
	showVersion := false
	fs := e.groupFlagSet(path, parent == "", &showVersion)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.printGroupHelp(e.stdout, path)
			return nil
		}
		return withHint(usageErrorf("%s: %v", path, err), path)
	}
	rest := fs.Args()
	if showVersion {
		return e.printVersion()
	}
	if len(rest) == 0 {
		return withHint(usageErrorf("%s: missing command", path), path)
	}
	if rest[0] == "help" {
		return c.helpFor(ctx, e, path, rest[1:])
	}
	sub := c.find(rest[0])
	if sub == nil {
		return withHint(usageErrorf("%s: unknown command %q", path, rest[0]), path)
	}
	return sub.execute(ctx, e, path, rest[1:])
}

// groupFlagSet returns the flag set of a group: --json, and at the root
// --version, which sets showVersion.
func (e *env) groupFlagSet(path string, root bool, showVersion *bool) *flag.FlagSet {
	fs := flag.NewFlagSet(path, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&e.json, "json", e.json, "machine-readable output")
	if root {
		fs.BoolVar(showVersion, "version", false, "print the version and exit")
	}
	return fs
}

// find returns the subcommand called name, or nil.
func (c *command) find(name string) *command {
	for _, s := range c.subs {
		if s.name == name {
			return s
		}
	}
	return nil
}

// helpFor prints the help of the command reached from c by names
// ("rustynet help membership init"). A leaf prints its own help, flags
// included, when run with -h.
func (c *command) helpFor(ctx context.Context, e *env, path string, names []string) error {
	for _, n := range names {
		sub := c.find(n)
		if sub == nil {
			return withHint(usageErrorf("%s: unknown command %q", path, n), path)
		}
		c, path = sub, path+" "+n
	}
	if c.run != nil {
		e.cmd, e.path = c, path
		return c.run(ctx, e, []string{"-h"})
	}
	c.printGroupHelp(e.stdout, path)
	return nil
}

// printGroupHelp lists a group's subcommands.
func (c *command) printGroupHelp(w io.Writer, path string) {
	fmt.Fprintf(w, "usage: %s [--json] COMMAND [flags] [arguments]\n\n", path)
	if c.help != "" {
		fmt.Fprintf(w, "%s\n\n", c.help)
	}
	fmt.Fprintln(w, "commands:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, s := range c.subs {
		if !s.hidden {
			fmt.Fprintf(tw, "  %s\t%s\n", s.name, s.summary)
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\nRun '%s COMMAND -h' for a command's flags.\n", path)
}

// printLeafHelp prints a leaf's synopsis, description and flags.
func (c *command) printLeafHelp(w io.Writer, path string, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: %s %s\n\n%s\n", path, c.args, c.summary)
	if c.help != "" {
		fmt.Fprintf(w, "\n%s\n", c.help)
	}
	fmt.Fprintln(w, "\nflags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// refuseJSON fails when --json was given to a leaf that has no JSON
// output, rather than let the flag be ignored.
func (e *env) refuseJSON() error {
	if !e.json || e.cmd.noJSON == "" || e.describe != nil {
		return nil
	}
	return e.usagef("--json is not supported: %s", e.cmd.noJSON)
}

// withHint adds the usual pointer to a command's help to a usage error.
func withHint(err error, path string) error {
	var ce *cliError
	if errors.As(err, &ce) && ce.hint == "" {
		ce.hint = fmt.Sprintf("Run '%s -h' for usage.", path)
	}
	return err
}
