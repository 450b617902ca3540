package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var updateReference = flag.Bool("update-reference", false, "rewrite docs/cli.md from the command tree")

// referencePath is the CLI reference, relative to this package.
var referencePath = filepath.Join("..", "..", "docs", "cli.md")

// writeReference writes the CLI reference of the tree at root in
// Markdown: every listed command with its synopsis, summary, help and
// flags, as `-h` shows them.
func writeReference(w io.Writer, root *command) {
	io.WriteString(w, "# rustynet command reference\n\n"+
		"Generated from the command tree by `go test ./cmd/rustynet -run TestCLIReference -update-reference`;\n"+
		"the test fails when this file and the commands differ. `rustynet COMMAND -h` prints the same.\n")
	infos := commandInfos(root, false)
	io.WriteString(w, "\n## Commands\n\n")
	for _, c := range infos {
		if c.cmd.run != nil {
			fmt.Fprintf(w, "- [`%s`](#%s) — %s\n", c.path, strings.ReplaceAll(c.path, " ", "-"), c.cmd.summary)
		}
	}
	for _, c := range infos {
		fmt.Fprintf(w, "\n## %s\n\n", c.path)
		if c.cmd.run == nil {
			fmt.Fprintf(w, "```text\n%s [--json] COMMAND [flags] [arguments]\n```\n\n", c.path)
			if c.cmd.summary != "" {
				fmt.Fprintf(w, "%s.\n\n", upperFirst(c.cmd.summary))
			}
			fmt.Fprintf(w, "Commands: %s.\n", "`"+strings.Join(c.subs, "`, `")+"`")
		} else {
			fmt.Fprintf(w, "```text\n%s\n```\n\n%s.\n", strings.TrimSpace(c.path+" "+c.cmd.args), upperFirst(c.cmd.summary))
		}
		if c.cmd.help != "" {
			fmt.Fprintf(w, "\n```text\n%s\n```\n", c.cmd.help)
		}
		if c.cmd.noJSON != "" {
			fmt.Fprintf(w, "\nNo `--json`: %s.\n", c.cmd.noJSON)
		}
		if len(c.flags) == 0 {
			continue
		}
		io.WriteString(w, "\n| flag | meaning | default |\n|---|---|---|\n")
		for _, f := range c.flags {
			name, usage := flag.UnquoteUsage(f)
			spec := "--" + f.Name
			if takesValue(f) {
				spec += " " + name
			}
			def := f.DefValue
			if def == "" || (!takesValue(f) && def == "false") {
				def = ""
			} else {
				def = "`" + def + "`"
			}
			fmt.Fprintf(w, "| `%s` | %s | %s |\n", spec, cellText(usage), def)
		}
	}
}

// upperFirst capitalizes the first letter of s.
func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// cellText makes s fit in a Markdown table cell.
func cellText(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}

// TestCLIReference holds docs/cli.md to the command tree: it is what
// writeReference makes of it, so the reference cannot drift from the
// commands. Regenerate it with -update-reference. It runs on Linux only:
// some defaults are the platform's paths, and the reference shows
// Linux's.
func TestCLIReference(t *testing.T) {
	var b strings.Builder
	writeReference(&b, rootCommand())
	if *updateReference {
		if err := os.WriteFile(referencePath, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(referencePath)
	if err != nil {
		t.Fatalf("%v (make it: go test ./cmd/rustynet -run TestCLIReference -update-reference)", err)
	}
	if diff := cmp.Diff(b.String(), string(got)); diff != "" {
		t.Errorf("docs/cli.md differs from the command tree (-commands +docs/cli.md); regenerate it with "+
			"go test ./cmd/rustynet -run TestCLIReference -update-reference:\n%s", diff)
	}
}
