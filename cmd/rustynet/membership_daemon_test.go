//go:build unix

package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
)

// logDaemon serves a fixed log over the control API, as a daemon would,
// or as a daemon that lies would.
type logDaemon struct {
	fakeDaemon
	head controlapi.LogHead // Head 0 means the log's length
	log  []*membership.SignedUpdate
}

func (d *logDaemon) Log(_ context.Context, from uint64, max int) (controlapi.LogHead, []*membership.SignedUpdate, error) {
	h := d.head
	if h.Head == 0 {
		h.Head = uint64(len(d.log))
	}
	if from > uint64(len(d.log)) {
		return h, nil, nil
	}
	return h, d.log[from-1 : min(from-1+uint64(max), uint64(len(d.log)))], nil
}

// serveLogFile serves the log in file (of the current directory) as a
// daemon's, after edit (if not nil) changes what the daemon says, and
// returns the control socket.
func serveLogFile(t *testing.T, file string, edit func(*logDaemon)) string {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	log, err := membership.ParseLog(raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := &logDaemon{log: log, head: controlapi.LogHead{NetworkID: "demo", GenesisRoot: log[0].Body.NewStateRoot.String()}}
	if edit != nil {
		edit(d)
	}
	return serveFake(t, d, controlapi.AuthorizerFunc(func(controlapi.Peer) error { return nil }))
}

// daemonNet is a testNet whose log.json holds a genesis and the node n2
// added after it, served by a daemon at the returned socket.
func daemonNet(t *testing.T) (*testNet, string) {
	t.Helper()
	setClock(t, time.Now().Truncate(time.Second))
	n := newNet(t)
	n.addNode(t, "alice", "bob")
	mustRun(t, "membership", "apply-update", "--from", "log.json", "add.json")
	return n, serveLogFile(t, "log.json", nil)
}

func TestMembershipReadsTheDaemonsLog(t *testing.T) {
	n, sock := daemonNet(t)
	before := snapshot(t, n.dir)
	// The same command against the daemon and against the file it serves
	// prints the same (but for where the log came from).
	for _, args := range [][]string{
		{"membership", "status"},
		{"membership", "status", "--genesis-root", status(t).GenesisRoot},
		{"policy", "show"},
		{"policy", "test", "n1", "n2", "tcp/22"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			fromDaemon := runCLI(t, append(args, "--socket", sock)...)
			fromFile := runCLI(t, append(args, "--from", "log.json")...)
			if fromDaemon.exit != fromFile.exit || fromDaemon.stdout != fromFile.stdout {
				t.Errorf("from the daemon: exit %d\n%s\nfrom the file: exit %d\n%s", fromDaemon.exit, fromDaemon.stdout, fromFile.exit, fromFile.stdout)
			}
			if fromDaemon.exit == exitOK && fromDaemon.stdout == "" {
				t.Errorf("printed nothing")
			}
		})
	}
	t.Run("status --json", func(t *testing.T) {
		var o statusOutput
		if err := json.Unmarshal([]byte(mustRun(t, "--json", "membership", "status", "--socket", sock).stdout), &o); err != nil {
			t.Fatal(err)
		}
		want := status(t)
		if o.Log != "the daemon at "+sock || o.Epoch != 2 || o.StateRoot != want.StateRoot || len(o.Nodes) != 2 {
			t.Errorf("got log %q at epoch %d root %s with %d nodes, want the daemon's, epoch 2, root %s, 2 nodes", o.Log, o.Epoch, o.StateRoot, len(o.Nodes), want.StateRoot)
		}
	})
	assertUnchanged(t, n.dir, before)
	t.Run("verify-log", func(t *testing.T) {
		r := mustRun(t, "membership", "verify-log", "--socket", sock)
		if want := "ok: epoch 2 root " + status(t).StateRoot + " entries 2\n"; r.stdout != want {
			t.Errorf("got %q, want %q", r.stdout, want)
		}
	})
	t.Run("export", func(t *testing.T) {
		mustRun(t, "membership", "export", "--socket", sock, "--out", "exported.json")
		got, _ := os.ReadFile("exported.json")
		want, _ := os.ReadFile("log.json")
		if string(got) != string(want) {
			t.Errorf("exported %d bytes, want log.json's %d, byte for byte", len(got), len(want))
		}
	})
	t.Run("propose", func(t *testing.T) {
		propose := n.expand("membership", "propose-update-node", "--node-id", "n2", "--tag", "web")
		mustRun(t, append(propose, "--socket", sock, "--out", "p-daemon.json")...)
		mustRun(t, append(propose, "--from", "log.json", "--out", "p-file.json")...)
		a, _, err := readUpdate("p-daemon.json")
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := readUpdate("p-file.json")
		if err != nil {
			t.Fatal(err)
		}
		// The update ids are random, and the new state root commits to it.
		if a.Body.Epoch != 3 || a.Body.Epoch != b.Body.Epoch || a.Body.PrevStateRoot != b.Body.PrevStateRoot || a.Body.CreatedAt != b.Body.CreatedAt {
			t.Errorf("proposed from the daemon: epoch %d after %s; from the file: epoch %d after %s", a.Body.Epoch, a.Body.PrevStateRoot, b.Body.Epoch, b.Body.PrevStateRoot)
		}
		if diff := cmp.Diff(bodyWithoutID(t, b), bodyWithoutID(t, a)); diff != "" {
			t.Errorf("body from the daemon … from the file (-file +daemon):\n%s", diff)
		}
	})
	t.Run("sign-update checks the signer against the daemon's log", func(t *testing.T) {
		r := runCLI(t, "membership", "sign-update", "--key", "dave.key", "--socket", sock, "p-daemon.json")
		if r.exit != exitRejected || !strings.HasPrefix(r.stderr, "error: UNKNOWN_SIGNER: ") {
			t.Errorf("got exit %d, %s; want UNKNOWN_SIGNER", r.exit, r.stderr)
		}
		r = mustRun(t, "membership", "sign-update", "--key", "alice.key", "--socket", sock, "p-daemon.json")
		if !strings.Contains(r.stdout, "still missing:") {
			t.Errorf("got %q, want what is still missing", r.stdout)
		}
	})
	t.Run("verify-update", func(t *testing.T) {
		r := runCLI(t, "membership", "verify-update", "--socket", sock, "p-daemon.json")
		if r.exit != exitRejected || !strings.HasPrefix(r.stderr, "error: THRESHOLD_NOT_MET: ") {
			t.Errorf("got exit %d, %s; want THRESHOLD_NOT_MET", r.exit, r.stderr)
		}
	})
}

func TestDaemonsLogIsVerifiedHere(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*logDaemon)
		args   []string // after --socket SOCKET
		exit   int
		code   string
		stderr string
	}{
		{"a forged signature", func(d *logDaemon) {
			u := *d.log[1]
			u.Signatures = append([]membership.Signature(nil), u.Signatures...)
			u.Signatures[0].Sig[0] ^= 1
			d.log = []*membership.SignedUpdate{d.log[0], &u}
		}, []string{"membership", "status"}, exitRejected, "BAD_SIGNATURE", "the daemon at "},
		{"another genesis than the one it pins", func(d *logDaemon) {
			d.head.GenesisRoot = strings.Repeat("ab", 32)
		}, []string{"membership", "status"}, exitRejected, "INTEGRITY_FAILURE", "is not the root " + strings.Repeat("ab", 32) + " the daemon says it pins"},
		{"another genesis than the one pinned here", nil,
			[]string{"membership", "status", "--genesis-root", strings.Repeat("cd", 32)}, exitRejected, "INTEGRITY_FAILURE", "is not the pinned root"},
		{"restricted: status shows the verified prefix", func(d *logDaemon) {
			d.head.Restricted = "entry 3: BAD_SIGNATURE"
		}, []string{"membership", "status"}, exitRejected, "INTEGRITY_FAILURE", "entry 3: BAD_SIGNATURE"},
		{"restricted: no proposal", func(d *logDaemon) {
			d.head.Restricted = "entry 3: BAD_SIGNATURE"
		}, []string{"membership", "propose-revoke-node", "--node-id", "n2", "--out", "p.json"}, exitRejected, "RESTRICTED_MODE", "restricted-safe mode"},
		{"no membership yet: no proposal", func(d *logDaemon) {
			d.log, d.head = nil, controlapi.LogHead{}
		}, []string{"membership", "propose-revoke-node", "--node-id", "n2", "--out", "p.json"}, exitUsage, "USAGE", "holds no membership yet"},
		{"a head it never serves", func(d *logDaemon) {
			d.head.Head = 9
		}, []string{"membership", "status"}, exitIO, "IO", "no entry of epoch 3 came"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, _ := daemonNet(t)
			sock := serveLogFile(t, "log.json", tt.edit)
			before := snapshot(t, n.dir)
			r := runCLI(t, append(tt.args, "--socket", sock)...)
			if r.exit != tt.exit || !strings.HasPrefix(r.stderr, "error: "+tt.code+": ") || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("got exit %d\n%s\nwant exit %d, %s, saying %q", r.exit, r.stderr, tt.exit, tt.code, tt.stderr)
			}
			assertUnchanged(t, n.dir, before)
		})
	}
}

func TestNoLogAndNoDaemon(t *testing.T) {
	n := newNet(t)
	none := filepath.Join(t.TempDir(), "control.sock")
	before := snapshot(t, n.dir)
	for _, args := range [][]string{
		{"membership", "status"},
		{"membership", "export", "--out", "x.json"},
		{"membership", "verify-log"},
		{"membership", "propose-revoke-node", "--node-id", "n1", "--out", "p.json"},
		{"policy", "show"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runCLI(t, append(args, "--socket", none)...)
			if r.exit != exitUsage || !strings.HasPrefix(r.stderr, "error: USAGE: ") || !strings.Contains(r.stderr, "cannot reach the daemon at "+none) ||
				!strings.Contains(r.stderr, "hint: name the log to read: --from FILE|DIR") {
				t.Errorf("got exit %d\n%s\nwant a usage error naming the socket and saying what to pass", r.exit, r.stderr)
			}
		})
	}
	assertUnchanged(t, n.dir, before)
}

// bodyWithoutID is u's body as JSON values, without the random update id
// and the new state root that commits to it.
func bodyWithoutID(t *testing.T, u *membership.SignedUpdate) map[string]any {
	t.Helper()
	var f struct{ Body map[string]any }
	if err := json.Unmarshal(u.Encode(), &f); err != nil {
		t.Fatal(err)
	}
	delete(f.Body, "update_id")
	delete(f.Body, "new_state_root")
	return f.Body
}
