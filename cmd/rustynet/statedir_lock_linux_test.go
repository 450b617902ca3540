package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/rustynet/rustynet/core/membership"
)

// TestStoreLockHeldByPlugin checks, from the kernel's table of file locks,
// that while a command has a state directory open the store's lock
// (DIR/LOCK, see statedir in the stores' layouts) is held by the plugin
// process and never by the CLI's own; that another command that only
// reads may run meanwhile (commands open read-first and share the lock
// until they write); and that one that writes gets the store's LOCKED
// error, reported cleanly with exit 3 and what to do, changing nothing.
func TestStoreLockHeldByPlugin(t *testing.T) {
	for _, store := range builtinStoreKinds {
		t.Run(store, func(t *testing.T) {
			d := newDirNet(t, store)
			d.proposeFromDir(t, "add.json", []string{"alice", "bob"}, "propose-add-node", "--node-id", "n2", "--node-key", "{n2}", "--address", "100.64.0.2/32")
			lock := filepath.Join(d.node, "LOCK")
			if got := flockHolders(t, lock); len(got) != 0 {
				t.Fatalf("LOCK is held by %v with no command running", got)
			}
			e := &env{stdout: &strings.Builder{}, stderr: &strings.Builder{}, now: clock}
			sd, err := e.openStateDir(context.Background(), &stateFlags{store: storeChoice{builtin: store}}, "node", false, membership.Hash{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { sd.close(context.Background(), true) })
			if got, want := flockHolders(t, lock), []int{sd.client.Pid()}; !cmp.Equal(got, want) {
				t.Errorf("LOCK holders: got pids %v, want only the plugin's %v (this process is %d)", got, want, os.Getpid())
			}

			before := snapshotTree(t, d.node)
			d.ok(t, "membership", "verify-log", "--state-dir", "node")
			r := d.cli(t, "membership", "apply-update", "--state-dir", "node", "add.json")
			assertFails(t, "apply-update while another command holds the directory", r, exitIO, "LOCKED")
			if !strings.Contains(r.stderr, "\n"+lockedHint+"\n") {
				t.Errorf("stderr %q lacks the next step %q", r.stderr, lockedHint)
			}
			if r.stdout != "" {
				t.Errorf("stdout: got %q, want nothing", r.stdout)
			}
			if diff := cmp.Diff(before, snapshotTree(t, d.node)); diff != "" {
				t.Errorf("files changed (-before +after):\n%s", diff)
			}

			if err := sd.close(context.Background(), true); err != nil {
				t.Fatal(err)
			}
			if got := flockHolders(t, lock); len(got) != 0 {
				t.Errorf("LOCK still held by %v after the plugin ended", got)
			}
			d.ok(t, "membership", "apply-update", "--state-dir", "node", "add.json")
		})
	}
}

// flockHolders returns the pids holding a flock(2) on the file at path,
// from /proc/locks (lines like "1: FLOCK  ADVISORY  WRITE 4242 fe:00:1234 0 EOF").
func flockHolders(t *testing.T, path string) []int {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := info.Sys().(*syscall.Stat_t)
	id := strconv.FormatUint(uint64(unix.Major(st.Dev)), 16) + ":" + strconv.FormatUint(uint64(unix.Minor(st.Dev)), 16) + ":" + strconv.FormatUint(st.Ino, 10)
	data, err := os.ReadFile("/proc/locks")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && f[1] == "->" { // a waiter, not a holder
			continue
		}
		if len(f) < 6 || f[1] != "FLOCK" || !sameDevIno(f[5], id) {
			continue
		}
		pid, err := strconv.Atoi(f[4])
		if err != nil {
			t.Fatalf("/proc/locks: %q", line)
		}
		pids = append(pids, pid)
	}
	return pids
}

// sameDevIno compares /proc/locks' "MAJ:MIN:INODE" (hex, hex, decimal;
// the kernel zero-pads the hex fields) with want, which is not padded.
func sameDevIno(field, want string) bool {
	f, w := strings.Split(field, ":"), strings.Split(want, ":")
	if len(f) != 3 || len(w) != 3 {
		return false
	}
	for i := range 2 {
		a, err1 := strconv.ParseUint(f[i], 16, 32)
		b, err2 := strconv.ParseUint(w[i], 16, 32)
		if err1 != nil || err2 != nil || a != b {
			return false
		}
	}
	return f[2] == w[2]
}
