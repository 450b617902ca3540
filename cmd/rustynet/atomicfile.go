package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rustynet/rustynet/internal/atomicfile"
	"github.com/rustynet/rustynet/internal/inputfile"
)

// writeNewFile writes an output file the user named with --out: it refuses
// to replace an existing file unless force is set. Errors are reported as
// the CLI reports them.
func writeNewFile(path string, data []byte, perm fs.FileMode, force bool) error {
	write := atomicfile.Create
	if force {
		write = atomicfile.WriteFile
	}
	err := write(path, data, perm)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrExist):
		return usageErrorf("%s already exists; use --force to replace it", path)
	default:
		return ioErrorf("writing %s: %v", path, err)
	}
}

// checkNotExist fails early, before any work, if an output file exists and
// force is not set. writeNewFile enforces the same rule without a race.
func checkNotExist(path string, force bool) error {
	if force {
		return nil
	}
	if _, err := os.Lstat(path); err == nil {
		return usageErrorf("%s already exists; use --force to replace it", path)
	}
	return nil
}

// sameFile reports whether paths a and b name one existing file.
func sameFile(a, b string) bool {
	ia, errA := os.Stat(a)
	ib, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(ia, ib)
}

// rewriteFile replaces the contents of an existing file in place, keeping
// its permissions. old is what the caller read from it; if the file no
// longer holds exactly old (another process changed it meanwhile), nothing
// is written. A symbolic link is followed, so the link stays a link.
func rewriteFile(path string, old, data []byte) error {
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return ioErrorf("resolving %s: %v", path, err)
	}
	info, err := os.Stat(target)
	if err != nil {
		return ioErrorf("rewriting %s: %v", path, err)
	}
	now, err := inputfile.Read(target, maxInputBytes)
	if err != nil {
		return ioErrorf("rewriting %s: %v", path, err)
	}
	if string(now) != string(old) {
		return ioErrorf("%s changed while this command ran; nothing was written, run the command again", path)
	}
	if err := atomicfile.WriteFile(target, data, info.Mode().Perm()); err != nil {
		return ioErrorf("writing %s: %v", path, err)
	}
	return nil
}

// maxInputBytes bounds the update, genesis and log files the CLI reads:
// room for the portable log of a large network.
const maxInputBytes = 256 << 20

// readInput reads a file the user named: a regular file of at most
// maxInputBytes, through internal/inputfile like every input file of the
// CLI and the daemon. A file that is missing, not readable, not a regular
// file (a device such as /dev/zero, a FIFO, a directory) or too large is a
// usage error naming it (exit 2), reported at once; a failure while
// reading it is an I/O error (exit 3).
func readInput(path string) ([]byte, error) { return readInputWith(path, maxInputBytes, nil) }

// readInputWith is readInput with another bound, and check (if not nil)
// run on the opened file before it is read; check's error is returned as
// it is.
func readInputWith(path string, max int64, check func(fs.FileInfo) error) ([]byte, error) {
	data, err := inputfile.ReadChecked(path, max, check)
	var ce *cliError
	switch {
	case err == nil:
		return data, nil
	case errors.As(err, &ce):
		return nil, err
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission),
		errors.Is(err, inputfile.ErrNotRegular), errors.Is(err, inputfile.ErrTooLarge):
		return nil, usageErrorf("cannot read %s: %v", path, unwrapPath(err))
	default:
		return nil, ioErrorf("reading %s: %v", path, unwrapPath(err))
	}
}

// unwrapPath drops the operation and path that *fs.PathError repeats, for
// messages that already name the file.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
