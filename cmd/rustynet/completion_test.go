package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// shellChecks say how a test runs one shell: the command that checks a
// script's syntax without running it, and, where a test can drive the
// shell's completion outside an interactive session, a script that
// sources the completion script at $1 and prints what it offers for the
// command line in $2, one candidate a line.
var shellChecks = map[string]struct {
	bin      string
	syntax   []string // {} stands for the script's path
	complete string   // "" where the test cannot drive completion
}{
	"bash": {bin: "bash", syntax: []string{"-n", "{}"}, complete: `source "$1"
read -ra COMP_WORDS <<<"$2"
[[ $2 == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_rustynet
printf '%s\n' "${COMPREPLY[@]}"`},
	// zsh: compadd and _files exist only inside the completion system;
	// stand-ins print what they are given (compadd filters by prefix
	// itself, so its stand-in sees every candidate).
	"zsh": {bin: "zsh", syntax: []string{"-n", "{}"}, complete: `compdef() { }
compadd() { shift; print -rl -- "$@" }
_files() { print -rl -- *(N) }
source "$1"
words=(${(z)2})
[[ $2 == *" " ]] && words+=("")
CURRENT=${#words}
_rustynet`},
	"fish": {bin: "fish", syntax: []string{"--no-execute", "{}"}, complete: `source $argv[1]; complete -C"$argv[2]"`},
	"powershell": {bin: "pwsh", syntax: []string{"-NoProfile", "-NonInteractive", "-Command",
		"$errs = $null; [void][System.Management.Automation.Language.Parser]::ParseFile({}, [ref]$null, [ref]$errs); if ($errs) { $errs; exit 1 }"}},
}

// completionScript writes the script `rustynet completion shell` prints
// into a temporary directory and returns its path.
func completionScript(t *testing.T, shell string) string {
	t.Helper()
	r := mustRun(t, "completion", shell)
	path := filepath.Join(t.TempDir(), "rustynet."+shell)
	if err := os.WriteFile(path, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCompletionScripts checks each shell's script: it names every
// listed command (by its full name, the key of its completions) and no
// hidden one, and the shell itself finds it well formed where the shell
// is installed.
func TestCompletionScripts(t *testing.T) {
	listed := commandInfos(rootCommand(), false)
	for _, sh := range completionShells {
		t.Run(sh.name, func(t *testing.T) {
			path := completionScript(t, sh.name)
			script := string(readFile(t, path))
			for _, c := range listed {
				if !strings.Contains(script, "'"+c.path+"/") {
					t.Errorf("the script has no completions for %q", c.path)
				}
			}
			if strings.Contains(script, "rustynet plugin") {
				t.Errorf("the script completes the hidden command `rustynet plugin`")
			}
			check := shellChecks[sh.name]
			bin, err := exec.LookPath(check.bin)
			if err != nil {
				t.Skipf("not checking the syntax: %s is not installed (scripts/install-prereqs.sh installs bash, zsh and fish; Debian has no PowerShell)", check.bin)
			}
			argv := make([]string, len(check.syntax))
			for i, a := range check.syntax {
				quoted := path
				if sh.name == "powershell" {
					quoted = psQuote(path)
				}
				argv[i] = strings.ReplaceAll(a, "{}", quoted)
			}
			if out, err := exec.Command(bin, argv...).CombinedOutput(); err != nil {
				t.Errorf("%s %s finds the script malformed: %v\n%s", check.bin, strings.Join(argv, " "), err, out)
			}
		})
	}
	r := runCLI(t, "completion", "tcsh")
	if r.exit != exitUsage || !strings.HasPrefix(r.stderr, "error: USAGE: rustynet completion: unknown shell \"tcsh\"") {
		t.Errorf("completion tcsh: exit %d, stderr %q; want a usage error naming the shell", r.exit, r.stderr)
	}
}

// TestCompletionCompletes drives each shell's completion as the shell
// would on a command line and checks what it offers: subcommands, a
// command's flags, and file names for a flag's value and a leaf's
// arguments. The command line is typed up to the cursor; a trailing space
// starts a new, empty word.
func TestCompletionCompletes(t *testing.T) {
	tests := []struct {
		line     string
		want     []string // offered, among others
		dontWant []string
	}{
		{"rustynet mem", []string{"membership"}, nil},
		{"rustynet p", []string{"policy"}, []string{"plugin"}}, // hidden
		{"rustynet membership in", []string{"init"}, nil},
		{"rustynet --json key ", []string{"generate", "public", "help"}, nil},
		{"rustynet help membership ", []string{"init", "sign-update"}, nil},
		{"rustynet key generate --", []string{"--kind", "--out", "--force", "--json"}, []string{"--from"}},
		{"rustynet key generate --out ", []string{"genesis.json"}, []string{"--kind"}},
		{"rustynet membership status --from ", []string{"genesis.json"}, []string{"init"}},
		{"rustynet membership verify-update --from log.json ", []string{"genesis.json"}, nil},
		{"rustynet -json status --socket x --", []string{"--check", "--config"}, nil},
		{"rustynet conformance --", []string{"--plugin", "--format", "--json"}, nil},
	}
	for _, sh := range completionShells {
		t.Run(sh.name, func(t *testing.T) {
			check := shellChecks[sh.name]
			bin, err := exec.LookPath(check.bin)
			if err != nil {
				t.Skipf("%s is not installed (scripts/install-prereqs.sh installs bash, zsh and fish; Debian has no PowerShell)", check.bin)
			}
			if check.complete == "" {
				t.Skipf("this test does not drive %s's completion", sh.name)
			}
			script := completionScript(t, sh.name)
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "genesis.json"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, tt := range tests {
				// $0, $1, $2; fish has no $0: its arguments are $argv.
				argv := []string{"-c", check.complete, "completion-test", script, tt.line}
				if sh.name == "fish" {
					argv = []string{"-c", check.complete, script, tt.line}
				}
				cmd := exec.Command(bin, argv...)
				cmd.Dir = dir
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Errorf("%q: %v\n%s", tt.line, err, out)
					continue
				}
				var got []string
				for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
					cand, _, _ := strings.Cut(l, "\t") // fish: candidate, tab, description
					got = append(got, cand)
				}
				for _, w := range tt.want {
					if !slices.Contains(got, w) {
						t.Errorf("%q: got %q, want %q among them", tt.line, got, w)
					}
				}
				for _, w := range tt.dontWant {
					if slices.Contains(got, w) {
						t.Errorf("%q: got %q, want no %q", tt.line, got, w)
					}
				}
			}
		})
	}
}
