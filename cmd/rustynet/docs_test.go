package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// notRunPrefix starts the HTML comment (invisible where the Markdown is
// rendered) that excuses the shell block right after it from being run:
// `<!-- not run: REASON -->`, REASON saying what the block needs that a
// test does not have (root, other machines, a daemon left running).
const notRunPrefix = "<!-- not run:"

// docBlock is a shell block of a document.
type docBlock struct {
	line   int    // of the opening fence, 1-based
	script string // the commands
	notRun string // why it is not run; "" to run it
}

// shellBlocks returns the blocks of md fenced as sh, bash or shell: the
// command blocks a reader types. Other blocks (toml, text, go, untagged)
// show files, output and synopses, and are not commands to run.
func shellBlocks(md []byte) ([]docBlock, error) {
	var out []docBlock
	sc := bufio.NewScanner(bytes.NewReader(md))
	var cur *docBlock
	var body []string
	fence, notRun := "", ""
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimLeft(line, " ")
		if fence != "" {
			if strings.TrimSpace(trimmed) == fence {
				if cur != nil {
					cur.script = strings.Join(body, "\n") + "\n"
					out = append(out, *cur)
				}
				fence, cur, body = "", nil, nil
			} else if cur != nil {
				body = append(body, line[len(line)-len(trimmed):])
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") {
			fence = "```"
			lang, _, _ := strings.Cut(strings.TrimPrefix(trimmed, "```"), " ")
			switch lang {
			case "sh", "bash", "shell":
				cur = &docBlock{line: n, notRun: notRun}
			default:
				if notRun != "" {
					return nil, fmt.Errorf("line %d: a %q marker before a %q block, not a shell block", n, notRunPrefix, lang)
				}
			}
			notRun = ""
			continue
		}
		if notRun != "" && strings.TrimSpace(line) != "" {
			return nil, fmt.Errorf("line %d: a %q marker is not followed by a shell block", n-1, notRunPrefix)
		}
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), notRunPrefix); ok {
			reason := strings.TrimSpace(strings.TrimSuffix(rest, "-->"))
			if !strings.HasSuffix(rest, "-->") || reason == "" {
				return nil, fmt.Errorf("line %d: want %s REASON -->", n, notRunPrefix)
			}
			notRun = reason
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if fence != "" {
		return nil, fmt.Errorf("a code block is not closed")
	}
	return out, nil
}

// TestDocCommands runs the command blocks of README.md and docs/*.md as
// a reader would, so the documentation cannot rot: every sh block of a
// file, in order, each with `sh -eu` in one fresh directory for the file,
// with the built rustynet first on PATH and the user's state, config and
// temporary directories inside it. A block fails the test when a command
// in it fails. A block right after `<!-- not run: REASON -->` is not run:
// one that needs root, a service manager, other machines, a daemon left
// running, or the repository itself says so there. (docs/operations is
// the runbooks', which e2e.TestDrills performs on real daemons.)
func TestDocCommands(t *testing.T) {
	root := filepath.Join("..", "..")
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	bin := builtBinary(t)
	for _, doc := range append([]string{filepath.Join(root, "README.md")}, docs...) {
		name, _ := filepath.Rel(root, doc)
		t.Run(name, func(t *testing.T) {
			blocks, err := shellBlocks(readFile(t, doc))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			dir := t.TempDir()
			env := append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"),
				"HOME="+dir, "XDG_STATE_HOME="+filepath.Join(dir, ".state"), "XDG_CONFIG_HOME="+filepath.Join(dir, ".config"),
				"TMPDIR="+dir)
			for _, b := range blocks {
				if b.notRun != "" {
					t.Logf("%s:%d: not run: %s", name, b.line, b.notRun)
					continue
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				cmd := exec.CommandContext(ctx, "sh", "-eu", "-c", b.script)
				cmd.Dir, cmd.Env = dir, env
				out, err := cmd.CombinedOutput()
				cancel()
				if err != nil {
					t.Errorf("%s:%d: the block fails (%v):\n%s\noutput:\n%s", name, b.line, err, b.script, out)
				}
			}
		})
	}
}

// TestShellBlocks checks how documents mark their command blocks.
func TestShellBlocks(t *testing.T) {
	md := "# T\n\n```sh\nrustynet version\n```\n\n<!-- not run: needs root -->\n```sh\nsudo rustynet service install\n```\n\n" +
		"```toml\n[node]\n```\n\n- a list\n\n  ```bash\n  ls\n  ```\n"
	got, err := shellBlocks([]byte(md))
	if err != nil {
		t.Fatal(err)
	}
	want := []docBlock{{line: 3, script: "rustynet version\n"}, {line: 8, script: "sudo rustynet service install\n", notRun: "needs root"},
		{line: 18, script: "ls\n"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for _, bad := range []string{
		"<!-- not run: -->\n```sh\nls\n```\n",
		"<!-- not run: x -->\n```toml\n```\n",
		"<!-- not run: x -->\nprose\n```sh\nls\n```\n",
		"```sh\nls\n",
	} {
		if _, err := shellBlocks([]byte(bad)); err == nil {
			t.Errorf("shellBlocks(%q): no error", bad)
		}
	}
}
