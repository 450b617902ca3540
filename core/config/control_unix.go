//go:build !windows

package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// defaultSocket returns $XDG_RUNTIME_DIR/rustynet/control.sock, else
// <stateDir>.sock beside the state directory, else "" when stateDir is
// unknown. Never a path inside stateDir: the store's directory holds only
// the store's own files, and a store refuses one with a socket in it.
func defaultSocket(stateDir string) string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(d) {
		return filepath.Join(d, "rustynet", "control.sock")
	}
	if stateDir == "" {
		return ""
	}
	return filepath.Clean(stateDir) + ".sock"
}

// controlSocket checks a configured socket path and makes it absolute.
func controlSocket(s, baseDir string) (string, error) {
	return resolvePath(s, baseDir)
}

// controlGroup checks the syntax of a group name or numeric gid; Validate
// checks that it exists.
func controlGroup(g string) error {
	if strings.ContainsAny(g, ":,\x00\n\t ") {
		return errors.New("is not a valid group name")
	}
	return nil
}
