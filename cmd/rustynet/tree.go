package main

import (
	"context"
	"flag"
	"io"
	"strings"
)

// commandInfo is one command of the tree as shell completion and the CLI
// reference see it.
type commandInfo struct {
	path  string   // full name, e.g. "rustynet membership init"
	cmd   *command // the command itself
	flags []*flag.Flag
	// subs are the names of a group's listed subcommands; nil for a leaf.
	subs []string
}

// words returns the path's names after the program's: "membership init".
func (c commandInfo) words() string {
	_, rest, _ := strings.Cut(c.path, " ")
	return rest
}

// commandInfos returns every command of the tree at root, a group before
// its subcommands, in listing order. Hidden commands are left out unless
// hidden is set. Flags are in lexical order: a group's are its own
// (--json, and --version at the root); a leaf's are those its run
// function defines, learnt by running it with env.describe set.
func commandInfos(root *command, hidden bool) []commandInfo {
	var out []commandInfo
	var walk func(c *command, parent string)
	walk = func(c *command, parent string) {
		path := strings.TrimSpace(parent + " " + c.name)
		info := commandInfo{path: path, cmd: c}
		var fs *flag.FlagSet
		if c.run == nil {
			fs = (&env{}).groupFlagSet(path, parent == "", new(bool))
			info.subs = []string{}
			for _, s := range c.subs {
				if hidden || !s.hidden {
					info.subs = append(info.subs, s.name)
				}
			}
		} else {
			fs = leafFlags(c, path)
		}
		if fs != nil {
			fs.VisitAll(func(f *flag.Flag) { info.flags = append(info.flags, f) })
		}
		out = append(out, info)
		for _, s := range c.subs {
			if hidden || !s.hidden {
				walk(s, path)
			}
		}
	}
	walk(root, "")
	return out
}

// leafFlags returns the flag set leaf c defines, or nil if its run
// function never hands it to env.parse.
func leafFlags(c *command, path string) *flag.FlagSet {
	var got *flag.FlagSet
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, now: clock,
		cmd: c, path: path, describe: func(fs *flag.FlagSet) { got = fs }}
	_ = c.run(context.Background(), e, nil) // errHelpShown once described
	return got
}

// takesValue reports whether f needs a value (--out FILE), unlike a
// boolean flag (--force).
func takesValue(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return !ok || !b.IsBoolFlag()
}
