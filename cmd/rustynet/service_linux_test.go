package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/rustynet/rustynet/core/config"
	"github.com/rustynet/rustynet/core/paths"
	"github.com/rustynet/rustynet/internal/service"
	"github.com/rustynet/rustynet/internal/testbin"
)

// TestServiceLifecycleAsSystemdRunsIt runs the daemon exactly as the
// systemd unit `rustynet service install` writes runs it, on a machine
// without systemd: as root with no HOME and the unit's environment only,
// the command line of its ExecStart, the configuration only at
// /etc/rustynet/rustynet.toml and the system layout's directories fresh
// (a private mount namespace puts tmpfs over /run and /var/lib and an
// overlay over /etc, so nothing of the host changes), readiness awaited
// on $NOTIFY_SOCKET (Type=notify), and SIGTERM sent to the daemon's whole
// process group as timeout(1) and a terminal do. It proves:
//
//   - READY=1 arrives once the node serves: `rustynet status` and
//     `status --check` with no flags find it at /run/rustynet/control.sock,
//     and the Prometheus endpoint answers and parses;
//   - SIGTERM to the group stops the daemon and its plugins with exit
//     status 0, STOPPING=1, and no WARN or ERROR line; the JSON log has no
//     duplicated field, plugin lines included;
//   - Restart=on-failure semantics: a clean stop (0) and a bad
//     configuration (2, RestartPreventExitStatus) are not restarted, a
//     failure (3) is; a restarted node re-verifies its state and is ready
//     again;
//   - a node whose state fails verification (a high-water mark ahead of
//     its log) stays up in restricted-safe mode and `status --check`
//     exits 2.
func TestServiceLifecycleAsSystemdRunsIt(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real daemons")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: the system layout and a mount namespace")
	}
	for _, tool := range []string{"unshare", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (util-linux)", tool)
		}
	}
	bin := testbin.Rustynet(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "etc-rustynet") // becomes /etc/rustynet
	must(t, os.Mkdir(src, 0o755))
	port := strconv.Itoa(int(freeTCPPort(t)))
	cfgText := svcNetwork(t, bin, src) + "[proxy]\nsocks5 = \"\"\n\n[log]\nformat = \"json\"\n\n[metrics]\nlisten = \"127.0.0.1:" + port + "\"\n"
	must(t, os.WriteFile(filepath.Join(src, "rustynet.toml"), []byte(cfgText), 0o644))
	must(t, os.WriteFile(filepath.Join(src, "bad.toml"), []byte(cfgText+"[node.extra]\n"), 0o644))

	// The unit, as `rustynet service install` writes it for this config.
	sys, _ := paths.Default(paths.System, os.Getenv)
	cfg, err := config.Parse([]byte(cfgText), sys.ConfigFile, filepath.Dir(sys.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	unit := service.Unit(service.SpecFor(cfg, bin, sys))
	execStart := strings.Fields(unitValues(unit, "ExecStart")[0])
	if want := []string{bin, "daemon", "--config", "/etc/rustynet/rustynet.toml"}; !slices.Equal(execStart, want) {
		t.Fatalf("ExecStart %q, want %q", execStart, want)
	}

	ns := newMountNamespace(t, dir, src)
	notify := listenNotify(t, filepath.Join(dir, "notify.sock"))

	// First start: ready, found without flags, scraped, stopped by SIGTERM to its group.
	d := ns.start(t, execStart, notify.path)
	notify.expect(t, "READY=1", d)
	st := ns.cli(t, bin, "status")
	if st.exit != 0 {
		t.Fatalf("status (no flags): exit %d\n%s%s", st.exit, st.stdout, st.stderr)
	}
	for _, want := range []string{"node       n1 ", "daemon     ", "plugin protocol 1", "membership epoch 1,", "(trusted)", "backend    netstack (plugin running, 0 restarts; version ", "store      file (running, 0 restarts; version "} {
		if !strings.Contains(st.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, st.stdout)
		}
	}
	if c := ns.cli(t, bin, "status", "--check"); c.exit != 0 || !strings.HasPrefix(c.stdout, "healthy: node n1 at epoch 1") {
		t.Errorf("status --check: exit %d, %q; want 0 and healthy", c.exit, c.stdout)
	}
	scrapeNode(t, port)
	for _, p := range []string{"/var/lib/rustynet/state", "/var/lib/rustynet/highwater", "/run/rustynet/control.sock"} {
		if _, err := os.Stat(filepath.Join(ns.root(), p)); err != nil {
			t.Errorf("the system layout has no %s: %v", p, err)
		}
	}
	plugins := pluginPIDs(t, bin)
	if len(plugins) != 2 {
		t.Errorf("plugin processes %v, want the store's and the backend's", plugins)
	}
	d.terminateGroup(t)
	notify.expect(t, "STOPPING=1", d)
	if code := d.wait(t); code != 0 {
		t.Errorf("after SIGTERM to its group the daemon exited %d, want 0\n%s", code, d.log.String())
	}
	checkCleanLog(t, d.log.String())
	for _, pid := range plugins {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("plugin process %d outlived the daemon", pid)
		}
	}

	// A clean stop is not restarted; a failure is; a bad configuration is not.
	for _, tt := range []struct {
		exit int
		want bool
	}{{0, false}, {1, true}, {2, false}, {3, true}} {
		if got := wouldRestart(unit, tt.exit); got != tt.want {
			t.Errorf("the unit restarts after exit %d: %v, want %v", tt.exit, got, tt.want)
		}
	}
	bad := ns.start(t, []string{bin, "daemon", "--config", "/etc/rustynet/bad.toml"}, notify.path)
	if code := bad.wait(t); code != exitUsage || !strings.Contains(bad.log.String(), "bad.toml:") {
		t.Errorf("a bad configuration: exit %d, want %d naming the file\n%s", code, exitUsage, bad.log.String())
	}

	// Restarted, the node re-verifies what it stored and is ready again;
	// this time plain `rustynet daemon`, which reads the system's
	// configuration by default.
	d = ns.start(t, []string{bin, "daemon"}, notify.path)
	notify.expect(t, "READY=1", d)
	if c := ns.cli(t, bin, "status", "--check"); c.exit != 0 || !strings.HasPrefix(c.stdout, "healthy: node n1 at epoch 1") {
		t.Errorf("after a restart, status --check: exit %d, %q; want 0 and healthy", c.exit, c.stdout)
	}
	d.terminateGroup(t)
	if code := d.wait(t); code != 0 {
		t.Errorf("second stop: exit %d\n%s", code, d.log.String())
	}
	checkCleanLog(t, d.log.String())

	// A high-water mark ahead of the log (a rolled-back state directory):
	// the node starts in restricted-safe mode, and the check says so.
	marks, err := filepath.Glob(filepath.Join(ns.root(), "/var/lib/rustynet/highwater/*.json"))
	if err != nil || len(marks) != 1 {
		t.Fatalf("high-water marks %v (%v), want one", marks, err)
	}
	// Written in the form of an older version (one JSON object), which the
	// ledger still reads.
	data, err := json.Marshal(map[string]any{"index": 5, "state_root": strings.Repeat("0", 64)})
	must(t, err)
	must(t, os.WriteFile(marks[0], data, 0o600))
	d = ns.start(t, execStart, notify.path)
	notify.expect(t, "READY=1", d)
	if c := ns.cli(t, bin, "status", "--check"); c.exit != 2 || !strings.HasPrefix(c.stdout, "restricted: restricted-safe mode: ") {
		t.Errorf("restricted node: status --check exit %d, %q; want 2 and restricted", c.exit, c.stdout)
	}
	d.terminateGroup(t)
	if code := d.wait(t); code != 0 {
		t.Errorf("stopping the restricted node: exit %d\n%s", code, d.log.String())
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// freeTCPPort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freeTCPPort(t *testing.T) uint16 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port)
}

// svcNetwork makes, with the binary in dir, approver and node keys and a
// one-approver genesis with node n1, and returns the [node] and
// [membership] tables of n1's configuration (paths relative to dir).
func svcNetwork(t *testing.T, bin, dir string) string {
	t.Helper()
	runBin := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("rustynet %s: %v", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out))
	}
	alice := runBin("key", "generate", "--kind", "approver", "--out", "alice.key")
	n1 := runBin("key", "generate", "--kind", "node", "--out", "n1.key")
	runBin("membership", "init", "--network-id", "svc", "--threshold", "1", "--approver", "alice="+alice+":owner",
		"--node", "n1="+n1+",100.64.0.1/32", "--out", "genesis.json")
	runBin("membership", "sign-update", "--key", "alice.key", "genesis.json")
	var st struct {
		GenesisRoot string `json:"genesis_root"`
	}
	if err := json.Unmarshal([]byte(runBin("--json", "membership", "status", "--from", "genesis.json")), &st); err != nil {
		t.Fatal(err)
	}
	must(t, os.Remove(filepath.Join(dir, "alice.key")))
	return "[node]\nid = \"n1\"\nprivate_key_file = \"n1.key\"\n\n[membership]\ngenesis_file = \"genesis.json\"\ngenesis_root = \"" + st.GenesisRoot + "\"\n\n"
}

// unitValues returns the values of key in a unit file.
func unitValues(unit, key string) []string {
	var out []string
	for _, l := range strings.Split(unit, "\n") {
		if v, ok := strings.CutPrefix(l, key+"="); ok {
			out = append(out, v)
		}
	}
	return out
}

// wouldRestart applies the unit's Restart= and RestartPreventExitStatus=
// to a daemon that exited with code, as systemd.service(5) describes.
func wouldRestart(unit string, code int) bool {
	if slices.Contains(strings.Fields(strings.Join(unitValues(unit, "RestartPreventExitStatus"), " ")), strconv.Itoa(code)) {
		return false
	}
	switch unitValues(unit, "Restart")[0] {
	case "always":
		return true
	case "on-failure":
		return code != 0
	}
	return false
}

// mountNamespace is a private mount namespace with fresh /run and
// /var/lib and an overlay on /etc holding /etc/rustynet, kept alive by a
// holder process until the test ends.
type mountNamespace struct {
	holder *exec.Cmd
}

func newMountNamespace(t *testing.T, dir, src string) *mountNamespace {
	t.Helper()
	up, work := filepath.Join(dir, "etc-up"), filepath.Join(dir, "etc-work")
	must(t, os.Mkdir(up, 0o755))
	must(t, os.Mkdir(work, 0o755))
	// What systemd creates for the unit (ConfigurationDirectory=,
	// StateDirectory= with mode 0700, RuntimeDirectory=), then wait on
	// stdin: closing it ends the namespace.
	script := `set -e
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=0755 tmpfs /var/lib
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1,workdir=$2" /etc
mkdir -p /etc/rustynet /run/rustynet
mkdir -m 0700 /var/lib/rustynet
cp -p "$3"/* /etc/rustynet/
echo ready
exec cat`
	h := exec.Command("unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh", up, work, src)
	stdin, err := h.StdinPipe()
	must(t, err)
	stdout, err := h.StdoutPipe()
	must(t, err)
	var stderr bytes.Buffer
	h.Stderr = &stderr
	must(t, h.Start())
	t.Cleanup(func() { stdin.Close(); h.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Skipf("cannot make a private mount namespace here (%v): %s", err, stderr.String())
	}
	return &mountNamespace{holder: h}
}

// root is the namespace's root as the host sees it.
func (ns *mountNamespace) root() string { return fmt.Sprintf("/proc/%d/root", ns.holder.Process.Pid) }

// unitEnv is the environment systemd gives a root system service (no
// HOME: it sets one only for units with User=).
func unitEnv(notify string) []string {
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}
	if notify != "" {
		env = append(env, "NOTIFY_SOCKET="+notify)
	}
	return env
}

// nsCommand runs argv inside the namespace with exactly env.
func (ns *mountNamespace) nsCommand(env, argv []string) *exec.Cmd {
	args := append([]string{"--mount=" + fmt.Sprintf("/proc/%d/ns/mnt", ns.holder.Process.Pid), "--", "env", "-i"}, env...)
	return exec.Command("nsenter", append(args, argv...)...)
}

// svcDaemon is a daemon run in the namespace, leading its process group.
type svcDaemon struct {
	cmd    *exec.Cmd
	log    *bytes.Buffer // read it only once it has exited
	exited chan struct{}
}

// start runs argv (ExecStart) in the namespace as the unit does.
func (ns *mountNamespace) start(t *testing.T, argv []string, notify string) *svcDaemon {
	t.Helper()
	d := &svcDaemon{cmd: ns.nsCommand(unitEnv(notify), argv), log: &bytes.Buffer{}, exited: make(chan struct{})}
	d.cmd.Stderr = d.log
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	must(t, d.cmd.Start())
	go func() { d.cmd.Wait(); close(d.exited) }()
	t.Cleanup(func() {
		select {
		case <-d.exited:
		default:
			syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
			<-d.exited
			t.Logf("daemon log:\n%s", d.log.String())
		}
	})
	return d
}

// terminateGroup sends SIGTERM to the daemon's whole process group.
func (d *svcDaemon) terminateGroup(t *testing.T) {
	t.Helper()
	must(t, syscall.Kill(-d.cmd.Process.Pid, syscall.SIGTERM))
}

// wait waits (at most a minute) for the daemon to exit and returns its
// exit status.
func (d *svcDaemon) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-d.exited:
	case <-time.After(time.Minute):
		t.Fatalf("the daemon did not exit within a minute\n%s", d.log.String())
	}
	return d.cmd.ProcessState.ExitCode()
}

// cli runs the CLI in the namespace as root with the unit's environment.
func (ns *mountNamespace) cli(t *testing.T, bin string, args ...string) result {
	t.Helper()
	cmd := ns.nsCommand(unitEnv(""), append([]string{bin}, args...))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return result{exit: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: errOut.String()}
}

// notifySocket is a stand-in for systemd's notification socket.
type notifySocket struct {
	conn *net.UnixConn
	path string
}

func listenNotify(t *testing.T, path string) *notifySocket {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	must(t, err)
	t.Cleanup(func() { c.Close() })
	return &notifySocket{conn: c, path: path}
}

// expect reads notifications until one holds assignment, failing if d
// exits first or none comes within a minute.
func (n *notifySocket) expect(t *testing.T, assignment string, d *svcDaemon) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	buf := make([]byte, 4096)
	for time.Now().Before(deadline) {
		select {
		case <-d.exited:
			t.Fatalf("the daemon exited (%v) before sending %s\n%s", d.cmd.ProcessState, assignment, d.log.String())
		default:
		}
		must(t, n.conn.SetReadDeadline(time.Now().Add(200*time.Millisecond)))
		k, err := n.conn.Read(buf)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			continue
		}
		must(t, err)
		if slices.Contains(strings.Split(string(buf[:k]), "\n"), assignment) {
			return
		}
	}
	t.Fatalf("no %s on NOTIFY_SOCKET within a minute", assignment)
}

// scrapeNode scrapes the daemon's metrics and health endpoints.
func scrapeNode(t *testing.T, port string) {
	t.Helper()
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(path string) (string, int) {
		resp, err := c.Get("http://127.0.0.1:" + port + path)
		must(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		must(t, err)
		return string(b), resp.StatusCode
	}
	body, code := get("/metrics")
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if code != 200 || err != nil {
		t.Fatalf("GET /metrics: %d, %v\n%s", code, err, body)
	}
	for name, want := range map[string]float64{"rustynet_membership_epoch": 1, "rustynet_membership_restricted": 0, "rustynet_health_check_level": 0} {
		f, ok := fams[name]
		if !ok || len(f.GetMetric()) != 1 || f.GetMetric()[0].GetGauge().GetValue() != want {
			t.Errorf("%s: got %v, want %v", name, f, want)
		}
	}
	if ups := fams["rustynet_plugin_up"].GetMetric(); len(ups) != 2 || ups[0].GetGauge().GetValue() != 1 || ups[1].GetGauge().GetValue() != 1 {
		t.Errorf("rustynet_plugin_up: got %v, want both plugins up", ups)
	}
	if body, code := get("/healthz"); code != 200 || !strings.HasPrefix(body, "healthy: ") {
		t.Errorf("GET /healthz: %d %q, want 200 healthy", code, body)
	}
}

// pluginPIDs returns the processes running bin in plugin mode.
func pluginPIDs(t *testing.T, bin string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	must(t, err)
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		argv := strings.Split(strings.TrimSuffix(string(cmdline), "\x00"), "\x00")
		if len(argv) >= 2 && argv[0] == bin && argv[1] == "plugin" {
			pids = append(pids, pid)
		}
	}
	return pids
}

// checkCleanLog fails on a log line that is not one JSON object, has a
// level of WARN or ERROR, or repeats a field.
func checkCleanLog(t *testing.T, log string) {
	t.Helper()
	sawPlugin := false
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		keys, err := objectKeys(line)
		if err != nil {
			t.Errorf("log line %q is not a JSON object: %v", line, err)
			continue
		}
		seen := map[string]bool{}
		for _, k := range keys {
			if seen[k] {
				t.Errorf("log line repeats %q: %s", k, line)
			}
			seen[k] = true
		}
		if seen["timestamp"] {
			t.Errorf("log line carries a second time: %s", line)
		}
		var rec struct{ Level, Msg, Logger string }
		_ = json.Unmarshal([]byte(line), &rec)
		if rec.Level == "WARN" || rec.Level == "ERROR" {
			t.Errorf("%s in the log of a clean start and stop: %s", rec.Level, line)
		}
		if rec.Logger == "rustynet plugin store-file" {
			sawPlugin = true
		}
	}
	if !sawPlugin {
		t.Errorf("no line of the store plugin, re-levelled and labelled, in the log:\n%s", log)
	}
}

// objectKeys returns the top-level keys of one JSON object, in order.
func objectKeys(line string) ([]string, error) {
	dec := json.NewDecoder(strings.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("not an object (%v)", err)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		keys = append(keys, tok.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
	}
	return keys, nil
}
