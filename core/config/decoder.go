package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// decoder walks a parsed configuration tree along the schema, converting
// values and collecting problems with their locations. The schema is the
// code in schema.go: every key it asks for is a known key, and any other key
// in the file is an error.
type decoder struct {
	src     *source
	baseDir string
	keys    []loc           // every key of the file, in order
	known   map[string]bool // every schema key, spelled exactly
	values  map[string]bool // the keys among known that hold values, not tables
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
	return &decoder{src: src, baseDir: baseDir, keys: src.keyLocs(md), known: map[string]bool{}, values: map[string]bool{}}
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

// sub returns the table name in t; an absent table reads as empty.
func (d *decoder) sub(t *table, name string) *table {
	l := t.at(name)
	d.known[l.key.String()] = true
	sub := &table{key: l.key, arrayLen: t.arrayLen, elem: t.elem}
	switch v := t.m[name].(type) {
	case nil:
	case map[string]any:
		sub.m = v
	default:
		d.fail(t, name, "must be a table, not %s", tomlType(v))
	}
	return sub
}

// array returns the tables of the array of tables name in t: [[name]]
// headers or an inline array of inline tables.
func (d *decoder) array(t *table, name string) []*table {
	l := t.at(name)
	d.known[l.key.String()] = true
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
	}
	return out
}

// value returns the raw value of key name in t, if present.
func (d *decoder) value(t *table, name string) (any, bool) {
	k := t.at(name).key.String()
	d.known[k], d.values[k] = true, true
	v, ok := t.m[name]
	return v, ok
}

// checkUnknown records every key of the file that the schema does not know.
// MetaData.Undecoded cannot find them all when decoding into structs,
// because BurntSushi/toml matches struct fields case-insensitively (ID = "x"
// would set id); so the file is decoded as a plain tree and every key is
// compared with the schema exactly.
func (d *decoder) checkUnknown() {
	for _, l := range d.keys {
		ks := l.key.String()
		if d.known[ks] || d.insideValue(l.key) {
			continue
		}
		msg := "unknown key"
		for known := range d.known {
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
func (d *decoder) insideValue(k toml.Key) bool {
	for n := 1; n < len(k); n++ {
		if d.values[k[:n].String()] {
			return true
		}
	}
	return false
}

// err returns the problem that comes first in the file as an *Error, or nil.
func (d *decoder) err() error {
	if len(d.probs) == 0 {
		return nil
	}
	errs := make([]*Error, len(d.probs))
	for i, p := range d.probs {
		errs[i] = &Error{File: d.src.file, Line: d.src.line(p.at), Key: p.key, Msg: p.msg}
	}
	// Unknown lines (0) sort last.
	slices.SortStableFunc(errs, func(a, b *Error) int {
		return cmp.Compare(uint(a.Line-1), uint(b.Line-1))
	})
	return errs[0]
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
