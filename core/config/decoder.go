package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// decoder walks a parsed configuration tree along the schema, converting
// values and collecting problems with their locations. The tables and keys
// it accepts are those keys.go declares; any other key in the file is an
// error. The code in schema.go reads them.
type decoder struct {
	src     *source
	baseDir string
	keys    []loc // every key of the file, in order
	probs   []problem
}

// problem is one thing wrong with the configuration.
type problem struct {
	key string // the key named in the error
	at  loc    // where to point; usually key itself
	msg string
}

// table is a TOML table being read.
type table struct {
	m        map[string]any
	key      toml.Key // its path; nil for the root
	arrayLen int      // as loc: the array of tables it is an element of
	elem     int
}

// at locates name in t.
func (t *table) at(name string) loc {
	return loc{key: append(t.key[:len(t.key):len(t.key)], name), arrayLen: t.arrayLen, elem: t.elem}
}

// self locates t itself (its header).
func (t *table) self() loc { return loc{key: t.key, arrayLen: t.arrayLen, elem: t.elem} }

func newDecoder(src *source, md toml.MetaData, baseDir string) *decoder {
	return &decoder{src: src, baseDir: baseDir, keys: src.keyLocs(md)}
}

// keyLocs locates every key of the file, in the file's order. A key in an
// array of tables belongs to the element whose header came last before it.
func (s *source) keyLocs(md toml.MetaData) []loc {
	seen := map[string]int{} // occurrences of each key so far: [[array]] headers repeat
	var locs []loc
	for _, k := range md.Keys() {
		seen[k.String()]++
		l := loc{key: k}
		for n := len(k); n > 0; n-- {
			if s.isArray(k[:n]) {
				l.arrayLen, l.elem = n, seen[k[:n].String()]-1
				break
			}
		}
		locs = append(locs, l)
	}
	return locs
}

// fail records a problem with name in t.
func (d *decoder) fail(t *table, name, format string, args ...any) {
	l := t.at(name)
	d.probs = append(d.probs, problem{key: l.key.String(), at: l, msg: fmt.Sprintf(format, args...)})
}

// sub returns the table name in t, after recording the required keys it
// lacks; an absent table reads as empty.
func (d *decoder) sub(t *table, name string) *table {
	l := t.at(name)
	spec := tableSpecFor(l.key.String(), false)
	sub := &table{key: l.key, arrayLen: t.arrayLen, elem: t.elem}
	switch v := t.m[name].(type) {
	case nil:
	case map[string]any:
		sub.m = v
	default:
		d.fail(t, name, "must be a table, not %s", tomlType(v))
	}
	d.require(sub, spec.required...)
	return sub
}

// array returns the tables of the array of tables name in t: [[name]]
// headers or an inline array of inline tables. It records the required keys
// each lacks.
func (d *decoder) array(t *table, name string) []*table {
	l := t.at(name)
	spec := tableSpecFor(l.key.String(), true)
	var elems []map[string]any
	switch v := t.m[name].(type) {
	case nil:
	case []map[string]any:
		elems = v
	case []any:
		for _, e := range v {
			m, ok := e.(map[string]any)
			if !ok {
				d.fail(t, name, "must be an array of tables ([[%s]]), but holds %s", l.key, tomlType(e))
				return nil
			}
			elems = append(elems, m)
		}
	default:
		d.fail(t, name, "must be an array of tables ([[%s]]), not %s", l.key, tomlType(v))
	}
	out := make([]*table, len(elems))
	for i, m := range elems {
		out[i] = &table{m: m, key: l.key, arrayLen: len(l.key), elem: i}
		d.require(out[i], spec.required...)
	}
	return out
}

// value returns the raw value of key name in t, if present.
func (d *decoder) value(t *table, name string) (any, bool) {
	mustBeValueKey(t.at(name).key.String())
	v, ok := t.m[name]
	return v, ok
}

// checkUnknown records every key of the file that keys.go does not
// declare. MetaData.Undecoded cannot find them all when decoding into
// structs, because BurntSushi/toml matches struct fields case-insensitively
// (ID = "x" would set id); so the file is decoded as a plain tree and every
// key is compared with the declared ones exactly.
func (d *decoder) checkUnknown() {
	for _, l := range d.keys {
		ks := l.key.String()
		if knownKeys[ks] || insideValue(l.key) {
			continue
		}
		msg := "unknown key"
		for known := range knownKeys {
			if strings.EqualFold(known, ks) {
				msg = fmt.Sprintf("unknown key (keys are case-sensitive: %s)", known)
			}
		}
		d.probs = append(d.probs, problem{key: ks, at: l, msg: msg})
	}
}

// firstKeyUnder locates the first key of the file at or below key.
func (d *decoder) firstKeyUnder(key toml.Key) loc {
	for _, l := range d.keys {
		if len(l.key) >= len(key) && slices.Equal(l.key[:len(key)], key) {
			return l
		}
	}
	return loc{key: key}
}

// insideValue reports whether k lies inside a value of the schema (an inline
// table given where a string belongs, say), whose type check reports it.
func insideValue(k toml.Key) bool {
	for n := 1; n < len(k); n++ {
		if valueKeys[k[:n].String()] {
			return true
		}
	}
	return false
}

// errs returns every problem, each as an *Error, in the order of the file.
func (d *decoder) errs() ErrorList {
	errs := make(ErrorList, len(d.probs))
	for i, p := range d.probs {
		errs[i] = &Error{File: d.src.file, Line: d.src.line(p.at), Key: p.key, Msg: p.msg}
	}
	errs.sort()
	return errs
}

// tomlType names the TOML type of a decoded value for error messages.
func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case map[string]any:
		return "a table"
	case []any, []map[string]any:
		return "an array"
	default:
		return "a date-time"
	}
}
