package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rustynet/rustynet/core/ledger"
	"github.com/rustynet/rustynet/core/membership"
)

// builtinStoreKinds are the stores every state-directory test runs with.
var builtinStoreKinds = []string{"file", "sqlite"}

// entryFiles says where each built-in store keeps log entry 2, from the
// layouts their package documentation describes: the file store keeps
// entries in segment files named by their first entry's 20-digit index,
// the first holding entries 1, 2, … (plugins/store-file/doc.go), the
// SQLite store one database file (plugins/store-sqlite/doc.go).
var entryFiles = map[string]string{
	"file":   filepath.Join("log", "seg-00000000000000000001"),
	"sqlite": "store.db",
}

// isolateHighWater points the default high-water marks ($XDG_STATE_HOME)
// into a temporary directory for the rest of the test, for this process
// and every process it starts.
func isolateHighWater(t *testing.T) {
	t.Helper()
	t.Setenv("XDG_STATE_HOME", t.TempDir())
}

// highWaterOf returns the content of the default high-water mark of the
// state directory dir, or "" if it has none.
func highWaterOf(t *testing.T, dir string) string {
	t.Helper()
	p, err := ledger.DefaultHighWaterPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(data)
}

// snapshotTree returns the mode and SHA-256 of every file and directory
// below root, keyed by relative path, and the directory's high-water mark,
// so that a test can show that a command changed nothing.
func snapshotTree(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{"(high-water mark)": highWaterOf(t, root)}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			m[rel] = "dir " + info.Mode().String()
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		m[rel] = info.Mode().String() + " " + hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// treeFiles is snapshotTree without the high-water mark: the directory's
// own content, for comparing two directories.
func treeFiles(t *testing.T, root string) map[string]string {
	t.Helper()
	m := snapshotTree(t, root)
	delete(m, "(high-water mark)")
	return m
}

// copyTree copies the directory src to dst (which must not exist),
// keeping modes: an operator's `cp -a` of a stopped node's directory.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		info, err := d.Info()
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.Mkdir(target, info.Mode().Perm())
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// updateIDOf returns the hex update id of the signed update file path.
func updateIDOf(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u, err := membership.ParseSignedUpdate(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(u.Body.UpdateID[:])
}

// flipStoredEntry changes one hex digit of the update id of update file
// (the log entry that holds it) where the store keeps it on disk, as an
// attacker or a failing disk would: one byte of the file entryFiles names,
// which must hold the id exactly once. It returns that file's path.
func flipStoredEntry(t *testing.T, dir, store, update string) string {
	t.Helper()
	path := filepath.Join(dir, entryFiles[store])
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	id := []byte(updateIDOf(t, update))
	if n := bytes.Count(data, id); n != 1 {
		t.Fatalf("%s holds update id %s %d times, want once", path, id, n)
	}
	i := bytes.Index(data, id)
	if data[i] == 'a' {
		data[i] = 'b'
	} else {
		data[i] = 'a'
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, info.Mode().Perm()); err != nil {
		t.Fatal(err)
	}
	return path
}

// siblings returns the names of the entries of dir's parent that start with
// dir's name: the directory itself and anything restore put beside it.
func siblings(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), filepath.Base(dir)) {
			names = append(names, e.Name())
		}
	}
	return names
}

// decodeStatus decodes `membership status --json` output.
func decodeStatus(t *testing.T, out string) statusOutput {
	t.Helper()
	var s statusOutput
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	return s
}

// assertOK fails unless r succeeded with nothing on stderr but notes.
func assertOK(t *testing.T, what string, r result) {
	t.Helper()
	if r.exit != exitOK {
		t.Fatalf("%s: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", what, r.exit, r.stdout, r.stderr)
	}
	for _, line := range strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n") {
		if line != "" && !strings.HasPrefix(line, "note: ") {
			t.Errorf("%s: stderr line %q, want only notes", what, line)
		}
	}
}

// assertFails checks exit status exit and the code leading stderr.
func assertFails(t *testing.T, what string, r result, exit int, code string) {
	t.Helper()
	if r.exit != exit || !strings.HasPrefix(r.stderr, "error: "+code+": ") {
		t.Errorf("%s: got exit %d, stderr %q; want exit %d and %q first", what, r.exit, r.stderr, exit, "error: "+code+": ")
	}
}

// sha256Sum is sha256.Sum256 as a slice.
func sha256Sum(data []byte) []byte {
	s := sha256.Sum256(data)
	return s[:]
}
