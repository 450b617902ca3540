//go:build unix

package controlapi

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Listen listens for control API clients on the Unix socket path, as
// ListenConfig{}.Listen does.
func Listen(path string) (net.Listener, error) { return ListenConfig{}.Listen(path) }

// ListenConfig configures the control socket.
type ListenConfig struct {
	// Group, if not empty, is the group (a name or a numeric gid) whose
	// members may connect: it owns the socket and, if Listen creates it,
	// the socket's directory. Peer credentials are checked besides (see
	// NewAuthorizer); the file modes only keep others from connecting at all.
	Group string
}

// Listen listens on the Unix socket path. It creates the parent directory if
// it is missing (mode 0700, or 0750 owned by Group), leaving an existing one
// as it is. An existing socket file is replaced only if nothing accepts
// connections on it; if something does, Listen fails with an error
// wrapping syscall.EADDRINUSE; any other file at path makes it fail without
// touching the file. The socket's mode is 0660 (owned by Group if set).
// Closing the listener removes the socket file.
func (lc ListenConfig) Listen(path string) (net.Listener, error) {
	if max := len(syscall.RawSockaddrUnix{}.Path) - 1; len(path) > max {
		return nil, fmt.Errorf("control socket %s: the path is %d bytes long; Unix sockets allow at most %d", path, len(path), max)
	}
	gid := -1
	if lc.Group != "" {
		g, err := lookupGID(lc.Group)
		if err != nil {
			return nil, err
		}
		gid = int(g)
	}
	if err := makeSocketDir(filepath.Dir(path), gid); err != nil {
		return nil, err
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := setMode(path, gid, 0o660); err != nil {
		l.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return l, nil
}

// makeSocketDir creates dir if it is missing: 0700, or 0750 owned by gid.
func makeSocketDir(dir string, gid int) error {
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		return err // nil if it exists
	}
	mode := os.FileMode(0o700)
	if gid >= 0 {
		mode = 0o750
	}
	if err := os.MkdirAll(dir, mode); err != nil {
		return fmt.Errorf("control socket directory: %w", err)
	}
	// MkdirAll's mode is subject to the umask.
	if err := setMode(dir, gid, mode); err != nil {
		return fmt.Errorf("control socket directory %s: %w", dir, err)
	}
	return nil
}

// setMode sets path's mode and, if gid >= 0, its group.
func setMode(path string, gid int, mode os.FileMode) error {
	if gid >= 0 {
		if err := os.Lchown(path, -1, gid); err != nil {
			return err
		}
	}
	return os.Chmod(path, mode)
}

// staleProbeTimeout bounds the connection attempt that tells a live socket
// from a stale one.
const staleProbeTimeout = time.Second

// removeStale removes a socket file at path that nothing listens on. A live
// socket or a file that is not a socket is left alone, and an error returned.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("control socket %s: the path exists and is not a socket; refusing to replace it", path)
	}
	c, err := net.DialTimeout("unix", path, staleProbeTimeout)
	if err == nil {
		c.Close()
		return fmt.Errorf("control socket %s: another process (a running daemon?) is listening on it: %w", path, syscall.EADDRINUSE)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("control socket %s: cannot tell whether it is in use: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("control socket: removing stale socket: %w", err)
	}
	return nil
}
