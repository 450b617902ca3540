package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// configRoot is a genesis root for configurations under test.
var configRoot = strings.Repeat("ab", 32)

// sixMistakes is a configuration with six mistakes of six kinds, two of
// them in the files it names, and sixProblems what `config check` prints
// for it, with dir standing for the directory it is in.
var (
	sixMistakes = `[node]
id = "N1"
private_key_file = "n1.key"

[membership]
genesis_file = "genesis.json"
genesis_root = "` + configRoot + `"
feed_interval = 5

[backend]
mtu = 1000

[log]
levle = "debug"
`
	sixProblems = `node.toml:2: node.id: "N1" is not a node id: 1–63 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit
node.toml:3: node.private_key_file: dir/n1.key has mode 0644, so others may access it; it must be 0600 (run: chmod 600 dir/n1.key)
node.toml:6: membership.genesis_file: dir/genesis.json: no such file or directory
node.toml:8: membership.feed_interval: must be a string, not an integer
node.toml:11: backend.mtu: 1000 is below 1280, the least IPv6 needs (0 means 1420)
node.toml:14: log.levle: unknown key
`
)

// configDir writes node.toml holding text into a new directory, with the
// key file n1.key (mode keyMode) and, if genesis, genesis.json; it makes
// the directory the current one and returns it.
func configDir(t *testing.T, text string, keyMode os.FileMode, genesis bool) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	files := map[string]string{"node.toml": text, "n1.key": strings.Repeat("A", 43) + "=\n"}
	if genesis {
		files["genesis.json"] = "{}"
	}
	for name, data := range files {
		if err := os.WriteFile(name, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod("n1.key", keyMode); err != nil {
		t.Fatal(err)
	}
	return dir
}

var validConfig = `[node]
id = "n1"
private_key_file = "n1.key"
state_dir = "state"
high_water_file = "hw.json"

[membership]
genesis_file = "genesis.json"
genesis_root = "` + configRoot + `"

[control]
socket = "control.sock"
`

// TestConfigCheck runs `config check` in-process on files with and without
// problems: every problem on stdout, a USAGE summary on stderr, exit 2;
// none, `ok:` and the paths, exit 0.
func TestConfigCheck(t *testing.T) {
	tests := []struct {
		name       string
		text       string
		keyMode    os.FileMode
		genesis    bool
		args       []string
		wantExit   int
		wantStdout string // dir stands for the configuration's directory
		wantStderr string
	}{
		{name: "valid", text: validConfig, keyMode: 0o600, genesis: true, args: []string{"node.toml"},
			wantExit: exitOK, wantStdout: "ok: node.toml\n" +
				"node.state_dir        dir/state\n" +
				"node.high_water_file  dir/hw.json\n" +
				"control.socket        dir/control.sock\n"},
		{name: "one problem", text: validConfig + "[log]\nlevel = \"loud\"\n", keyMode: 0o600, genesis: true, args: []string{"node.toml"},
			wantExit: exitUsage, wantStdout: "node.toml:14: log.level: \"loud\" is not one of debug, info, warn, error\n",
			wantStderr: "error: USAGE: node.toml: 1 problem(s)\n"},
		{name: "six mistakes", text: sixMistakes, keyMode: 0o644, args: []string{"node.toml"},
			wantExit: exitUsage, wantStdout: sixProblems, wantStderr: "error: USAGE: node.toml: 6 problem(s)\n"},
		{name: "a syntax error", text: "[node\n", keyMode: 0o600, args: []string{"node.toml"},
			wantExit: exitUsage, wantStdout: "node.toml:1: expected '.' or ']' to end table name, but got '\\n' instead\n",
			wantStderr: "error: USAGE: node.toml: 1 problem(s)\n"},
		{name: "no such file", keyMode: 0o600, args: []string{"other.toml"},
			wantExit: exitUsage, wantStderr: "error: USAGE: open other.toml: no such file or directory\n"},
		{name: "no file named", keyMode: 0o600, args: nil,
			wantExit: exitUsage, wantStderr: "error: USAGE: rustynet config check: want 1 argument(s), got 0\nRun 'rustynet config check -h' for usage.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if runtime.GOOS == "windows" && tt.keyMode != 0o600 {
				t.Skip("permission bits carry no access control on Windows")
			}
			dir := configDir(t, tt.text, tt.keyMode, tt.genesis)
			got := runCLI(t, append([]string{"config", "check"}, tt.args...)...)
			got.stdout = strings.ReplaceAll(got.stdout, dir+string(filepath.Separator), "dir/")
			want := result{exit: tt.wantExit, stdout: tt.wantStdout, stderr: tt.wantStderr}
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(result{})); diff != "" {
				t.Errorf("rustynet config check %s: got … want (-want +got):\n%s", strings.Join(tt.args, " "), diff)
			}
		})
	}
}

// TestConfigCheckJSON checks `--json config check`: the problems on
// stdout as JSON, the same exit status.
func TestConfigCheckJSON(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("permission bits carry no access control on Windows")
	}
	dir := configDir(t, sixMistakes, 0o644, false)
	got := runCLI(t, "--json", "config", "check", "node.toml")
	if got.exit != exitUsage {
		t.Errorf("exit: got %d, want %d; stderr:\n%s", got.exit, exitUsage, got.stderr)
	}
	var o configCheckOutput
	if err := json.Unmarshal([]byte(got.stdout), &o); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, got.stdout)
	}
	var lines []string
	for _, p := range o.Problems {
		lines = append(lines, strings.ReplaceAll(p.Message, dir+string(filepath.Separator), "dir/"))
	}
	if o.File != "node.toml" || o.OK || o.Paths != nil || len(o.Problems) != 6 || o.Problems[0].Line != 2 || o.Problems[0].Key != "node.id" {
		t.Errorf("got %+v, want node.toml, not ok, 6 problems from line 2 node.id on", o)
	}
	for i, l := range strings.Split(strings.TrimSuffix(sixProblems, "\n"), "\n") {
		if i < len(lines) && !strings.HasSuffix(l, ": "+lines[i]) {
			t.Errorf("problem %d: got message %q, want the end of %q", i, lines[i], l)
		}
	}
}

// TestConfigCheckBinary runs the built binary on a file with six
// mistakes, as an operator would: all are reported in one run.
func TestConfigCheckBinary(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("permission bits carry no access control on Windows")
	}
	u := &userShell{t: t, bin: builtBinary(t), dir: configDir(t, sixMistakes, 0o644, false)}
	want := strings.ReplaceAll(sixProblems, "dir/", u.dir+string(filepath.Separator))
	u.expect(exitUsage, want, "error: USAGE: node.toml: 6 problem(s)\n…", "config", "check", "node.toml")

	for name, data := range map[string]string{"node.toml": validConfig, "genesis.json": "{}"} {
		if err := os.WriteFile(filepath.Join(u.dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(u.dir, "n1.key"), 0o600); err != nil {
		t.Fatal(err)
	}
	u.expect(exitOK, "ok: node.toml\n…", "", "config", "check", "node.toml")
}
