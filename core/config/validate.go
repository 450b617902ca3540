package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/inputfile"
)

// Validate checks the files and names the configuration refers to, which
// Parse does not touch: the private key file and any proxy password file
// are regular files that only their owner may access (on Unix; on
// Windows, fileperm.CheckPrivate), the genesis file and any plugin binaries
// are regular files, a directory feed is a directory, and the control group
// exists. It returns an ErrorList of every problem, each pointing at its
// key.
func (c *Config) Validate() error { return c.validate().err() }

// validate returns every problem Validate reports, in no particular order.
func (c *Config) validate() ErrorList {
	var errs ErrorList
	add := func(err error) { // every check returns an *Error or nil
		if e, ok := err.(*Error); ok {
			errs = append(errs, e)
		}
	}
	type file struct{ key, path string }
	secrets := []file{{"node.private_key_file", c.Node.PrivateKeyFile}}
	if c.Proxy.PasswordFile != "" {
		secrets = append(secrets, file{"proxy.password_file", c.Proxy.PasswordFile})
	}
	for _, f := range secrets {
		if err := c.checkFile(f.key, f.path); err != nil {
			add(err)
		} else {
			add(c.checkPrivateMode(f.key, f.path))
		}
	}
	if c.Membership.GenesisFile != "" {
		add(c.checkFile("membership.genesis_file", c.Membership.GenesisFile))
	}
	for _, p := range []file{{"store.plugin", c.Store.Plugin}, {"backend.plugin", c.Backend.Plugin}} {
		if p.path != "" {
			add(c.checkFile(p.key, p.path))
		}
	}
	for i, f := range append([]Feed{c.Membership.Feed}, c.Membership.FeedMirrors...) {
		if f.Dir == "" {
			continue
		}
		fi, err := os.Stat(f.Dir)
		if err == nil && !fi.IsDir() {
			err = errors.New("is not a directory")
		}
		if key := "membership.feed"; err != nil {
			if i > 0 {
				key = "membership.feed_mirrors"
			}
			add(c.errorf(key, "%s: %v", f.Dir, describe(err)))
		}
	}
	if g := c.Control.Group; g != "" {
		if _, err := lookupGroup(g); err != nil {
			add(c.errorf("control.group", "%v", err))
		}
	}
	return errs
}

// ReadPrivateKey reads the node's WireGuard private key (one base64 line,
// as `wg genkey` writes it) after the same checks as Validate, made on the
// file it reads, of at most MaxKeyFileBytes. Errors name the file, never
// its contents.
func (c *Config) ReadPrivateKey() (hostapi.PrivateKey, error) {
	const key = "node.private_key_file"
	if c.Node.PrivateKeyFile == "" {
		return hostapi.PrivateKey{}, c.errorf(key, "required key is missing")
	}
	data, err := inputfile.ReadChecked(c.Node.PrivateKeyFile, MaxKeyFileBytes, c.privateModeError(key, c.Node.PrivateKeyFile))
	var ce *Error
	if errors.As(err, &ce) {
		return hostapi.PrivateKey{}, err
	}
	if err != nil {
		return hostapi.PrivateKey{}, c.errorf(key, "%s: %v", c.Node.PrivateKeyFile, describe(err))
	}
	k, err := hostapi.ParsePrivateKey(strings.TrimSpace(string(data)))
	if err != nil || k.IsZero() {
		return hostapi.PrivateKey{}, c.errorf(key, "%s does not hold a WireGuard private key (generate one with `rustynet key generate --kind node`)", c.Node.PrivateKeyFile)
	}
	return k, nil
}

// ReadProxyPassword reads the proxies' password from proxy.password_file
// after the same checks as Validate, made on the file it reads, of at
// most MaxKeyFileBytes: its one line (a final newline is not part of it)
// must pass hostapi.CheckProxyPassword. Errors name the file, never its
// contents.
func (c *Config) ReadProxyPassword() (string, error) {
	const key = "proxy.password_file"
	path := c.Proxy.PasswordFile
	if path == "" {
		return "", c.errorf(key, "not set")
	}
	data, err := inputfile.ReadChecked(path, MaxKeyFileBytes, c.privateModeError(key, path))
	var ce *Error
	if errors.As(err, &ce) {
		return "", err
	}
	if err != nil {
		return "", c.errorf(key, "%s: %v", path, describe(err))
	}
	pass := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
	if err := hostapi.CheckProxyPassword(pass); err != nil {
		return "", c.errorf(key, "%s: %s (the file holds the password on one line)", path, hostapi.Message(err))
	}
	return pass, nil
}

// checkFile checks that path is a regular file.
func (c *Config) checkFile(key, path string) error {
	if path == "" {
		return c.errorf(key, "required key is missing")
	}
	fi, err := os.Stat(path)
	if err == nil && !fi.Mode().IsRegular() {
		err = errors.New("is not a regular file")
	}
	if err != nil {
		return c.errorf(key, "%s: %v", path, describe(err))
	}
	return nil
}

// describe shortens a file error to its cause; the path is printed already.
func describe(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// errorf returns an *Error at key, with the key's line if c was parsed.
func (c *Config) errorf(key, format string, args ...any) error {
	e := &Error{File: c.File, Key: key, Msg: fmt.Sprintf(format, args...)}
	if c.src != nil {
		e.Line = c.src.line(loc{key: toml.Key(strings.Split(key, "."))})
	}
	return e
}
