// Package inputfile reads the files an operator names — configuration,
// keys, a genesis, update and log files, a feed directory's log — with a
// size bound, and only if they are regular files. A device (/dev/zero), a
// FIFO, a socket or a directory is refused before a byte is read, and
// opening a FIFO does not block. It is the one way the CLI and the daemon
// read such a file.
package inputfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// Sentinels carried by the *fs.PathError Read returns.
var (
	// ErrNotRegular: the path names a device, FIFO, socket or directory.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge: the file holds more bytes than the caller allows.
	ErrTooLarge = errors.New("file too large")
)

// Read returns the contents of the regular file at path (symbolic links
// are followed), which may hold at most max bytes. Every error is an
// *fs.PathError naming path: opening failed (it wraps fs.ErrNotExist,
// fs.ErrPermission, ...), the file is not regular (ErrNotRegular), it
// holds more than max bytes, even if it grew while being read
// (ErrTooLarge), or reading failed.
func Read(path string, max int64) ([]byte, error) { return ReadChecked(path, max, nil) }

// ReadChecked is Read with check run on the opened file's information
// before any byte is read, after the regular-file check; a check error is
// returned as it is. A private key reader refuses a file others may read
// this way, on the very file it then reads.
func ReadChecked(path string, max int64, check func(fs.FileInfo) error) ([]byte, error) {
	f, err := open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "read", Path: path, Err: ErrNotRegular}
	}
	if check != nil {
		if err := check(info); err != nil {
			return nil, err
		}
	}
	tooLarge := &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)}
	if info.Size() > max {
		return nil, tooLarge
	}
	buf := make([]byte, 0, info.Size()+1) // +1: a file that grew is seen without a reallocation
	data, err := readAll(io.LimitReader(f, max+1), buf)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	if int64(len(data)) > max {
		return nil, tooLarge
	}
	return data, nil
}

// readAll is io.ReadAll into buf.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
