package config

import (
	"errors"
	"strings"
)

// pipePrefix starts every local named pipe's name.
const pipePrefix = `\\.\pipe\`

// defaultSocket returns the daemon's named pipe.
func defaultSocket(string) string { return pipePrefix + "rustynet" }

// controlSocket checks that s names a local named pipe.
func controlSocket(s, _ string) (string, error) {
	if !strings.HasPrefix(strings.ToLower(s), pipePrefix) || len(s) == len(pipePrefix) || strings.Contains(s[len(pipePrefix):], `\`) {
		return "", errors.New(`must be a named pipe such as \\.\pipe\rustynet`)
	}
	return s, nil
}

// controlGroup refuses any group: on Windows the pipe's security descriptor
// admits SYSTEM and Administrators only.
func controlGroup(g string) error {
	if g != "" {
		return errors.New("is not supported on Windows, where only SYSTEM and Administrators may use the control pipe")
	}
	return nil
}
