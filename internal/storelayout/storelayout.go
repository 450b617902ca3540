// Package storelayout is what the built-in stores and the hosts that
// launch them agree on about a node state directory: which store's
// directory it is, told from its layout, and how a host asks a store to
// leave the directory as it is until it writes.
//
// A store opening a directory that another store kept refuses it before
// creating anything (a file store would otherwise add an empty log to a
// SQLite store's directory, and report a rollback); the CLI, given no
// --store, picks the store whose directory it is.
package storelayout

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The built-in store kinds.
const (
	File   = "file"
	SQLite = "sqlite"
)

// markers are the entries only a kind's directory holds.
var markers = map[string][]string{
	File:   {"log", "snapshot"},
	SQLite: {"store.db"},
}

// Kinds returns the built-in store kinds, sorted.
func Kinds() []string {
	kinds := make([]string, 0, len(markers))
	for k := range markers {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	return kinds
}

// ErrMixed is a directory that holds more than one store's entries.
var ErrMixed = errors.New("holds the entries of more than one store")

// Detect returns the kind of the built-in store whose directory dir is,
// by the entries it holds: "" for a directory no built-in store has
// written to (missing, empty, or holding only a lock file or what an
// external store keeps). A directory with entries of two kinds is an error
// wrapping ErrMixed. Detect reads the directory only.
func Detect(dir string) (string, error) {
	var found []string
	for _, kind := range Kinds() {
		for _, name := range markers[kind] {
			_, err := os.Lstat(filepath.Join(dir, name))
			if err == nil {
				found = append(found, kind)
				break
			}
			if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrPermission) {
				return "", err
			}
		}
	}
	switch len(found) {
	case 0:
		return "", nil
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("%s %w (%s)", dir, ErrMixed, strings.Join(found, " and "))
}

// Mismatch returns an error if dir is the directory of a built-in store
// other than kind, naming the kind it is; nil if it is kind's, or no
// built-in store's.
func Mismatch(dir, kind string) error {
	got, err := Detect(dir)
	if err != nil {
		return err
	}
	if got != "" && got != kind {
		return fmt.Errorf("%s is the directory of a %s store, not of a %s store", dir, got, kind)
	}
	return nil
}

// ReadFirstEnv is the variable a host sets to "1" in a built-in store
// plugin's environment to have it open its directory read-first: the store
// creates nothing (no directory, no lock file, no log directory) and takes
// only a shared lock, where a lock file exists, until its first write;
// then it takes the exclusive lock, creates what is missing, and refuses
// the write with CONFLICT if the directory changed meanwhile. So reading
// commands (verify-log, status, export) work on a read-only copy and leave
// any directory as they found it. The daemon never sets it.
const ReadFirstEnv = "RUSTYNET_STORE_READ_FIRST"

// ReadFirst reports whether this process's host asked for read-first.
func ReadFirst() bool { return os.Getenv(ReadFirstEnv) == "1" }
