package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// userShell runs the built binary in one directory as an operator would.
type userShell struct {
	t   *testing.T
	bin string
	dir string
}

// run runs the binary with args and returns what the user would see.
func (u *userShell) run(args ...string) result {
	u.t.Helper()
	cmd := exec.Command(u.bin, args...)
	cmd.Dir = u.dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exitErr *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	case err != nil:
		u.t.Fatalf("running rustynet %s: %v", strings.Join(args, " "), err)
	}
	return result{exit: code, stdout: out.String(), stderr: errOut.String()}
}

// expect runs the binary and checks exit status, stdout and stderr
// exactly; a want string ending in "…" is matched as a prefix only.
func (u *userShell) expect(wantExit int, wantStdout, wantStderr string, args ...string) result {
	u.t.Helper()
	r := u.run(args...)
	if r.exit != wantExit || !matches(r.stdout, wantStdout) || !matches(r.stderr, wantStderr) {
		u.t.Fatalf("rustynet %s:\ngot  exit %d\nstdout: %q\nstderr: %q\nwant exit %d\nstdout: %q\nstderr: %q",
			strings.Join(args, " "), r.exit, r.stdout, r.stderr, wantExit, wantStdout, wantStderr)
	}
	return r
}

func matches(got, want string) bool {
	if prefix, ok := strings.CutSuffix(want, "…"); ok {
		return strings.HasPrefix(got, prefix)
	}
	return got == want
}

var pubKeyLine = regexp.MustCompile(`^[A-Za-z0-9+/]{43}=\n$`)

// TestBinary builds the real binary and runs the documented flow through
// it, checking what a user sees: exit statuses, stdout and stderr.
func TestBinary(t *testing.T) {
	u := &userShell{t: t, bin: builtBinary(t), dir: t.TempDir()}

	pub := map[string]string{}
	for _, k := range []struct{ kind, name string }{{"approver", "alice"}, {"approver", "bob"}, {"approver", "carol"}, {"node", "n1"}, {"node", "n2"}} {
		r := u.expect(0, "…", "", "key", "generate", "--kind", k.kind, "--out", k.name+".key")
		if !pubKeyLine.MatchString(r.stdout) {
			t.Fatalf("key generate printed %q, want one line of base64", r.stdout)
		}
		pub[k.name] = strings.TrimSpace(r.stdout)
		u.expect(0, r.stdout, "", "key", "public", k.name+".key")
	}
	if wg, err := exec.LookPath("wg"); err != nil {
		t.Logf("not comparing with `wg pubkey`: wg is not installed (apt-get install wireguard-tools)")
	} else if got := wgPubkey(t, wg, readFile(t, filepath.Join(u.dir, "n1.key"))); got != pub["n1"] {
		t.Errorf("wg pubkey < n1.key: got %q, want %q", got, pub["n1"])
	}
	u.expect(2, "", "error: USAGE: alice.key already exists; use --force to replace it\n", "key", "generate", "--kind", "approver", "--out", "alice.key")

	r := u.expect(0, "wrote genesis.json\n…", "", "membership", "init", "--network-id", "demo", "--threshold", "2",
		"--approver", "alice="+pub["alice"]+":owner", "--approver", "bob="+pub["bob"], "--approver", "carol="+pub["carol"],
		"--node", "n1="+pub["n1"]+",100.64.0.1/32", "--out", "genesis.json")
	root := regexp.MustCompile(`\nnew root: +([0-9a-f]{64})\n`).FindStringSubmatch(r.stdout)
	if root == nil {
		t.Fatalf("init printed no new root:\n%s", r.stdout)
	}
	genesisRoot := root[1]
	for i, name := range []string{"alice", "bob", "carol"} {
		missing := []string{"still missing:\n  the signature of every initial approver (1 of 3 so far) from: bob, carol\n",
			"still missing:\n  the signature of every initial approver (2 of 3 so far) from: carol\n",
			"complete: genesis.json has every signature it needs; apply it with `rustynet membership apply-update`\n"}[i]
		u.expect(0, fmt.Sprintf("signed genesis.json as %s (%d signature(s) now)\n%s", pub[name], i+1, missing), "",
			"membership", "sign-update", "--key", name+".key", "genesis.json")
	}
	u.expect(1, "", "error: DUPLICATE_SIGNER: key "+pub["alice"]+" already signed this update\n",
		"membership", "sign-update", "--key", "alice.key", "genesis.json")

	note := "note: genesis root not pinned (--genesis-root, --config or $RUSTYNET_GENESIS_ROOT); trusted genesis.json's own genesis " + genesisRoot + "\n"
	u.expect(0, "network:       demo\ngenesis root:  "+genesisRoot+" (not pinned)\nepoch:         1\n…", note,
		"membership", "status", "--from", "genesis.json")
	u.expect(0, "exported 1 update(s) to log.json: epoch 1, state root "+genesisRoot+"\n", note,
		"membership", "export", "--from", "genesis.json", "--out", "log.json")

	pin := []string{"--from", "log.json", "--genesis-root", genesisRoot}
	u.expect(0, "wrote add.json\n…", "", append([]string{"membership", "propose-add-node", "--node-id", "n2", "--node-key", pub["n2"],
		"--address", "100.64.0.2/32", "--endpoint", "127.0.0.1:51821", "--expires-in", "1h", "--out", "add.json"}, pin...)...)
	u.expect(0, "signed add.json as "+pub["alice"]+" (1 signature(s) now)\nstill missing:\n  1 more signature(s) of the current approvers (1 of 2 so far) from: bob, carol\n", "",
		append([]string{"membership", "sign-update", "--key", "alice.key", "add.json"}, pin...)...)
	u.expect(1, "", "error: THRESHOLD_NOT_MET: 1 of 2 approver signatures\n", append([]string{"membership", "apply-update", "add.json"}, pin...)...)
	u.expect(1, "file: add.json\n…", "error: THRESHOLD_NOT_MET: 1 of 2 approver signatures\n", append([]string{"membership", "verify-update", "add.json"}, pin...)...)
	u.expect(0, "…", "note: not checked whether "+pub["bob"]+" is an approver of this update, nor which signatures it still needs: no local daemon answers; give --from LOG|DIR\n",
		"membership", "sign-update", "--key", "bob.key", "add.json")
	r = u.expect(0, "file: add.json\n…", "", append([]string{"membership", "verify-update", "add.json"}, pin...)...)
	if !strings.HasSuffix(r.stdout, "\nresult: ok\n") {
		t.Errorf("verify-update does not end in `result: ok`:\n%s", r.stdout)
	}
	r = u.expect(0, "applied …", "", append([]string{"membership", "apply-update", "add.json"}, pin...)...)
	if !regexp.MustCompile(`\nepoch: 2\nstate root: [0-9a-f]{64}\n$`).MatchString(r.stdout) {
		t.Errorf("apply-update does not end with the new epoch and root:\n%s", r.stdout)
	}
	u.expect(1, "", "error: REPLAYED_UPDATE: …", append([]string{"membership", "apply-update", "add.json"}, pin...)...)

	r = u.expect(0, "{\n…", "", append([]string{"--json", "membership", "status"}, pin...)...)
	var st statusOutput
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status --json: %v", err)
	}
	if st.Epoch != 2 || len(st.Nodes) != 2 || st.Nodes[1].ID != "n2" || st.Nodes[1].Endpoints[0] != "127.0.0.1:51821" {
		t.Errorf("status after the add: got epoch %d nodes %+v, want epoch 2 with n2 at 127.0.0.1:51821", st.Epoch, st.Nodes)
	}
	u.expect(2, "", "error: USAGE: rustynet membership: unknown command \"bogus\"\nRun 'rustynet membership -h' for usage.\n", "membership", "bogus")
	entries, err := os.ReadDir(u.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temp file %s left behind", e.Name())
		}
	}
}
