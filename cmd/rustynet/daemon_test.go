package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/controlapi"
)

// TestDaemonThroughTheCLI runs a real `rustynet daemon` and drives it the
// way an operator does: `membership apply-update` with only the control
// socket, `status`, and an under-signed update refused with its code.
func TestDaemonThroughTheCLI(t *testing.T) {
	u := &userShell{t: t, bin: builtBinary(t), dir: t.TempDir()}
	t.Setenv("XDG_STATE_HOME", u.dir)
	pub := map[string]string{}
	for _, k := range []struct{ name, kind string }{{"alice", "approver"}, {"bob", "approver"}, {"n1", "node"}, {"n2", "node"}} {
		pub[k.name] = strings.TrimSpace(u.expect(0, "…", "", "key", "generate", "--kind", k.kind, "--out", k.name+".key").stdout)
	}
	u.expect(0, "…", "…", "membership", "init", "--network-id", "cli", "--threshold", "2",
		"--approver", "alice="+pub["alice"]+":owner", "--approver", "bob="+pub["bob"],
		"--node", "n1="+pub["n1"]+",100.64.0.1/32", "--out", "genesis.json")
	for _, a := range []string{"alice", "bob"} {
		u.expect(0, "…", "", "membership", "sign-update", "--key", a+".key", "genesis.json")
	}
	status := u.expect(0, "…", "…", "--json", "membership", "status", "--from", "genesis.json").stdout
	root := jsonField(t, status, "genesis_root")

	sock := filepath.Join(u.dir, "control.sock")
	cfg := "[node]\nid = \"n1\"\nprivate_key_file = \"n1.key\"\nstate_dir = \"state\"\n\n" +
		"[membership]\ngenesis_file = \"genesis.json\"\ngenesis_root = \"" + root + "\"\n\n" +
		"[backend]\nkind = \"netstack\"\n\n[proxy]\nsocks5 = \"\"\n\n[control]\nsocket = \"" + sock + "\"\n"
	if err := os.WriteFile(filepath.Join(u.dir, "n1.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(u.bin, "daemon", "--config", "n1.toml")
	cmd.Dir = u.dir
	var logs strings.Builder
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", logs.String())
		}
	})
	waitForDaemon(t, sock)

	u.expect(0, "…", "…", "membership", "propose-add-node", "--from", "genesis.json", "--node-id", "n2",
		"--node-key", pub["n2"], "--address", "100.64.0.2/32", "--out", "add.json")
	u.expect(0, "…", "", "membership", "sign-update", "--key", "alice.key", "add.json")
	u.expect(1, "", "error: THRESHOLD_NOT_MET: …", "membership", "apply-update", "--socket", sock, "add.json")
	u.expect(0, "…", "", "membership", "sign-update", "--key", "bob.key", "add.json")
	u.expect(0, "applied: epoch 2, root …", "", "membership", "apply-update", "--socket", sock, "add.json")
	u.expect(1, "", "error: REPLAYED_UPDATE: …", "membership", "apply-update", "--socket", sock, "add.json")

	st := u.expect(0, "…", "", "status", "--socket", sock).stdout
	for _, want := range []string{"node       n1", "membership epoch 2", "(trusted)", "backend    netstack", "rejected   REPLAYED_UPDATE", "n2 "} {
		if !strings.Contains(st, want) {
			t.Errorf("status lacks %q:\n%s", want, st)
		}
	}
}

func waitForDaemon(t *testing.T, sock string) {
	t.Helper()
	c := controlapi.Dial(sock)
	defer c.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := c.Status(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon did not answer on %s: %v", sock, err)
		}
		<-time.After(50 * time.Millisecond) // polling with a deadline
	}
}

// jsonField returns the first string value of key in a JSON document.
func jsonField(t *testing.T, doc, key string) string {
	t.Helper()
	i := strings.Index(doc, `"`+key+`":`)
	if i < 0 {
		t.Fatalf("no %q in %s", key, doc)
	}
	rest := strings.TrimLeft(doc[i+len(key)+3:], " ")
	return strings.SplitN(strings.TrimPrefix(rest, `"`), `"`, 2)[0]
}

func TestApplyWithoutADaemon(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	r := runCLI(t, "membership", "apply-update", "--socket", sock, "update.json")
	if r.exit != exitUsage || !strings.HasPrefix(r.stderr, "error: USAGE: reading update.json") {
		t.Errorf("missing update file: exit %d, stderr %q; want a usage error", r.exit, r.stderr)
	}
	f := filepath.Join(t.TempDir(), "u.json")
	os.WriteFile(f, []byte("{}"), 0o600)
	r = runCLI(t, "membership", "apply-update", "--socket", sock, f)
	if r.exit != exitIO || !strings.Contains(r.stderr, sock) {
		t.Errorf("no daemon: exit %d, stderr %q; want an I/O error naming the socket", r.exit, r.stderr)
	}
}
