package config

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// This file converts raw TOML values. Each getter returns ok only when the
// key is present and valid; a present but invalid value is recorded as a
// problem, so callers only handle the valid case.

// require records every name absent from t.
func (d *decoder) require(t *table, names ...string) {
	for _, name := range names {
		if _, ok := t.m[name]; !ok {
			l := t.at(name)
			d.probs = append(d.probs, problem{key: l.key.String(), at: t.self(), msg: "required key is missing"})
		}
	}
}

func (d *decoder) str(t *table, name string) (string, bool) {
	v, ok := d.value(t, name)
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		d.fail(t, name, "must be a string, not %s", tomlType(v))
	}
	return s, ok
}

func (d *decoder) boolean(t *table, name string) (bool, bool) {
	v, ok := d.value(t, name)
	if !ok {
		return false, false
	}
	b, ok := v.(bool)
	if !ok {
		d.fail(t, name, "must be true or false, not %s", tomlType(v))
	}
	return b, ok
}

// integer returns an integer within [lo, hi].
func (d *decoder) integer(t *table, name string, lo, hi int64) (int64, bool) {
	v, ok := d.value(t, name)
	if !ok {
		return 0, false
	}
	i, ok := v.(int64)
	switch {
	case !ok:
		d.fail(t, name, "must be an integer, not %s", tomlType(v))
	case i < lo || i > hi:
		d.fail(t, name, "%d is out of range [%d, %d]", i, lo, hi)
		ok = false
	}
	return i, ok
}

// duration returns a duration written as a Go duration string ("5s",
// "1m30s") within [lo, hi].
func (d *decoder) duration(t *table, name string, lo, hi time.Duration) (time.Duration, bool) {
	s, ok := d.str(t, name)
	if !ok {
		return 0, false
	}
	dur, err := time.ParseDuration(s)
	switch {
	case err != nil:
		d.fail(t, name, "%q is not a duration such as \"30s\" or \"5m\"", s)
		return 0, false
	case dur < lo || dur > hi:
		d.fail(t, name, "%s is out of range [%s, %s]", dur, lo, hi)
		return 0, false
	}
	return dur, true
}

// enum returns one of allowed.
func (d *decoder) enum(t *table, name string, allowed ...string) (string, bool) {
	s, ok := d.str(t, name)
	if ok && !slices.Contains(allowed, s) {
		d.fail(t, name, "%q is not one of %s", s, strings.Join(allowed, ", "))
		return "", false
	}
	return s, ok
}

// path returns a path made absolute against the configuration's directory;
// "" stays "" (the key's default).
func (d *decoder) path(t *table, name string) (string, bool) {
	s, ok := d.str(t, name)
	if !ok || s == "" {
		return "", ok
	}
	p, err := resolvePath(s, d.baseDir)
	if err != nil {
		d.fail(t, name, "%v", err)
		return "", false
	}
	return p, true
}

// resolvePath makes p absolute against baseDir.
func resolvePath(p, baseDir string) (string, error) {
	if strings.ContainsRune(p, 0) {
		return "", errors.New("path contains a NUL byte")
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(baseDir, p)
	}
	return filepath.Clean(p), nil
}

// nonEmptyPath is path for a key that must name a file.
func (d *decoder) nonEmptyPath(t *table, name string) (string, bool) {
	p, ok := d.path(t, name)
	if ok && p == "" {
		d.fail(t, name, "must not be empty")
		return "", false
	}
	return p, ok
}

// addrPort returns an IP:port; "" stays the zero value (off). check, if not
// nil, vets a parsed address.
func (d *decoder) addrPort(t *table, name string, check func(netip.AddrPort) error) (netip.AddrPort, bool) {
	s, ok := d.str(t, name)
	if !ok || s == "" {
		return netip.AddrPort{}, ok
	}
	ap, err := parseAddrPort(s)
	if err == nil && check != nil {
		err = check(ap)
	}
	if err != nil {
		d.fail(t, name, "%v", err)
		return netip.AddrPort{}, false
	}
	return ap, true
}

// parseAddrPort parses an IP:port with a port other than 0.
func parseAddrPort(s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return ap, fmt.Errorf("%q is not IP:port, such as 127.0.0.1:1080 or [::1]:1080", s)
	}
	if ap.Port() == 0 {
		return ap, fmt.Errorf("%q: the port must not be 0", s)
	}
	return ap, nil
}

// strList returns an array of strings.
func (d *decoder) strList(t *table, name string) ([]string, bool) {
	v, ok := d.value(t, name)
	if !ok {
		return nil, false
	}
	a, ok := v.([]any)
	if !ok {
		d.fail(t, name, "must be an array of strings, not %s", tomlType(v))
		return nil, false
	}
	out := make([]string, len(a))
	for i, e := range a {
		s, ok := e.(string)
		if !ok {
			d.fail(t, name, "must be an array of strings, but element %d is %s", i, tomlType(e))
			return nil, false
		}
		out[i] = s
	}
	return out, true
}
