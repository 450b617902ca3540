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
	"github.com/rustynet/rustynet/internal/poll"
)

// TestDaemonThroughTheCLI runs a real `rustynet daemon` and drives it the
// way an operator does: `membership apply-update` with only the control
// socket, `status`, and an under-signed update refused with its code.
func TestDaemonThroughTheCLI(t *testing.T) {
	u, pub, root := cliNetwork(t)
	sock := filepath.Join(u.dir, "control.sock")
	startDaemon(t, u, nodeConfig(root, sock, ""), nil)

	u.expect(0, "…", "…", "membership", "propose-add-node", "--from", "genesis.json", "--node-id", "n2",
		"--node-key", pub["n2"], "--address", "100.64.0.2/32", "--out", "add.json")
	u.expect(0, "…", "…", "membership", "sign-update", "--key", "alice.key", "add.json")
	u.expect(1, "", "error: THRESHOLD_NOT_MET: …", "membership", "apply-update", "--socket", sock, "add.json")
	u.expect(0, "…", "…", "membership", "sign-update", "--key", "bob.key", "add.json")
	u.expect(0, "applied: epoch 2, root …", "", "membership", "apply-update", "--socket", sock, "add.json")
	u.expect(0, "already applied: the node holds this update at epoch 2 (from a peer, the feed or an earlier apply); nothing changed\n", "",
		"membership", "apply-update", "--socket", sock, "add.json")

	st := u.expect(0, "…", "", "status", "--socket", sock).stdout
	for _, want := range []string{"node       n1", "health     ok", "membership epoch 2", "(trusted)", "backend    netstack", "rejected   THRESHOLD_NOT_MET", "n2 "} {
		if !strings.Contains(st, want) {
			t.Errorf("status lacks %q:\n%s", want, st)
		}
	}
}

// TestDaemonExitsWhenAPluginBreaks runs a real daemon with
// [daemon] exit_on_broken_plugin = true and an external store plugin that
// starts crashing for good: once the plugin's crash-loop breaker opens the
// daemon exits 3 with UNAVAILABLE, for a service manager to restart it.
func TestDaemonExitsWhenAPluginBreaks(t *testing.T) {
	u, _, root := cliNetwork(t)
	sock := filepath.Join(u.dir, "control.sock")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	crash := filepath.Join(u.dir, "crash")
	cfg := nodeConfig(root, sock, "[store]\nplugin = \""+self+"\"\n\n[daemon]\nexit_on_broken_plugin = true\n")
	d := startDaemon(t, u, cfg, []string{envTestPlugin + "=store-file", envTestPluginCrashFile + "=" + crash})
	if err := os.WriteFile(crash, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.exited:
	case <-time.After(2 * time.Minute):
		t.Fatal("the daemon still runs with its store plugin broken (its log follows once it is stopped)")
	}
	if code := d.cmd.ProcessState.ExitCode(); code != exitIO || !strings.Contains(d.logs.String(), "error: UNAVAILABLE: the store plugin") {
		t.Errorf("the daemon exited %d; want %d and an UNAVAILABLE error naming the store plugin; log:\n%s", code, exitIO, d.logs.String())
	}
}

// TestBrokenStoreIsUnavailableEndToEnd breaks a real daemon's external
// store plugin for good (without exit_on_broken_plugin): the daemon keeps
// running, `status` says the node is degraded and why, and an apply is
// refused as UNAVAILABLE (exit 3, retry) — not as an internal error.
func TestBrokenStoreIsUnavailableEndToEnd(t *testing.T) {
	u, pub, root := cliNetwork(t)
	sock := filepath.Join(u.dir, "control.sock")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	crash := filepath.Join(u.dir, "crash")
	startDaemon(t, u, nodeConfig(root, sock, "[store]\nplugin = \""+self+"\"\n"),
		[]string{envTestPlugin + "=store-file", envTestPluginCrashFile + "=" + crash})
	u.expect(0, "…", "…", "membership", "propose-add-node", "--from", "genesis.json", "--node-id", "n2",
		"--node-key", pub["n2"], "--address", "100.64.0.2/32", "--out", "add.json")
	u.expect(0, "…", "…", "membership", "sign-update", "--key", "alice.key", "add.json")
	u.expect(0, "…", "…", "membership", "sign-update", "--key", "bob.key", "add.json")
	if err := os.WriteFile(crash, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var st string
	if err := poll.Until(2*time.Minute, 20*time.Millisecond, func() bool {
		st = u.run("status", "--socket", sock).stdout
		return strings.Contains(st, "store      ") && strings.Contains(st, "BROKEN")
	}); err != nil {
		t.Fatalf("status never showed the store broken: %v\n%s", err, st)
	}
	for _, want := range []string{"health     DEGRADED\n", "  - the store plugin "} {
		if !strings.Contains(st, want) {
			t.Errorf("status lacks %q:\n%s", want, st)
		}
	}
	r := u.run("membership", "apply-update", "--socket", sock, "add.json")
	if r.exit != exitIO || !strings.HasPrefix(r.stderr, "error: UNAVAILABLE: applying through the daemon: ") || !strings.Contains(r.stderr, "retry") {
		t.Errorf("apply with the store broken: exit %d, stderr %q; want exit 3, UNAVAILABLE and a hint to retry", r.exit, r.stderr)
	}
}

// cliNetwork makes, through the CLI in a new directory, approver keys
// alice and bob, node keys n1 and n2, and a 2-of-2 genesis with node n1;
// it returns the shell, the public keys and the genesis root.
func cliNetwork(t *testing.T) (*userShell, map[string]string, string) {
	t.Helper()
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
	return u, pub, jsonField(t, status, "genesis_root")
}

// nodeConfig is node n1's configuration on the netstack backend with its
// control socket at sock, followed by extra.
func nodeConfig(root, sock, extra string) string {
	return "[node]\nid = \"n1\"\nprivate_key_file = \"n1.key\"\nstate_dir = \"state\"\n\n" +
		"[membership]\ngenesis_file = \"genesis.json\"\ngenesis_root = \"" + root + "\"\n\n" +
		"[backend]\nkind = \"netstack\"\n\n[proxy]\nsocks5 = \"\"\n\n[control]\nsocket = \"" + sock + "\"\n\n" + extra
}

// runningDaemon is a `rustynet daemon` process.
type runningDaemon struct {
	cmd    *exec.Cmd
	logs   *strings.Builder // its stderr; read it only once it has exited
	exited chan struct{}    // closed once it has exited
}

// startDaemon writes cfg as n1.toml in u's directory, runs `rustynet
// daemon` on it with env added, waits until it answers on its control
// socket and stops it (SIGINT, then SIGKILL) when the test ends.
func startDaemon(t *testing.T, u *userShell, cfg string, env []string) *runningDaemon {
	t.Helper()
	if err := os.WriteFile(filepath.Join(u.dir, "n1.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	d := &runningDaemon{cmd: exec.Command(u.bin, "daemon", "--config", "n1.toml"), logs: &strings.Builder{}, exited: make(chan struct{})}
	d.cmd.Dir, d.cmd.Stderr, d.cmd.Env = u.dir, d.logs, append(os.Environ(), env...)
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.cmd.Wait(); close(d.exited) }()
	t.Cleanup(func() {
		d.cmd.Process.Signal(os.Interrupt)
		select {
		case <-d.exited:
		case <-time.After(10 * time.Second):
			d.cmd.Process.Kill()
			<-d.exited
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", d.logs.String())
		}
	})
	sock := ""
	for _, l := range strings.Split(cfg, "\n") {
		if v, ok := strings.CutPrefix(l, "socket = "); ok {
			sock = strings.Trim(v, `"`)
		}
	}
	waitForDaemon(t, sock)
	return d
}

func waitForDaemon(t *testing.T, sock string) {
	t.Helper()
	c := controlapi.Dial(sock)
	defer c.Close()
	var lastErr error
	if poll.Until(60*time.Second, 50*time.Millisecond, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, lastErr = c.Status(ctx)
		return lastErr == nil
	}) != nil {
		t.Fatalf("the daemon did not answer on %s: %v", sock, lastErr)
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
	if r.exit != exitUsage || !strings.HasPrefix(r.stderr, "error: USAGE: cannot read update.json") {
		t.Errorf("missing update file: exit %d, stderr %q; want a usage error", r.exit, r.stderr)
	}
	f := filepath.Join(t.TempDir(), "u.json")
	os.WriteFile(f, []byte("{}"), 0o600)
	r = runCLI(t, "membership", "apply-update", "--socket", sock, f)
	if r.exit != exitIO || !strings.Contains(r.stderr, sock) {
		t.Errorf("no daemon: exit %d, stderr %q; want an I/O error naming the socket", r.exit, r.stderr)
	}
}
