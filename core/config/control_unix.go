//go:build !windows

package config

import (
	"errors"
	"path/filepath"
	"strings"
)

// defaultSocket returns <stateDir>.sock beside the state directory, for a
// layout that fixes no socket (paths.Layout.ControlSocket), else "" when
// stateDir is unknown. Never a path inside stateDir: the store's directory
// holds only the store's own files, and a store refuses one with a socket
// in it.
func defaultSocket(stateDir string) string {
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
