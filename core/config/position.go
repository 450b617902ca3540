package config

import (
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// This file finds the line of a key. BurntSushi/toml records the position of
// every key's value while parsing but exposes it only in the ParseError of a
// value that failed to decode. So to find key K, the text is decoded once
// more into a type built for K, whose only field at K fails: the ParseError
// carries K's position.
//
// The parser keeps one position per key path, so for an array of tables it
// knows only the last [[table]]'s keys. To reach element i, the text is cut
// just before element i+1's header (found the same way, from the last one
// back): what remains is valid TOML whose last element is element i.

// source is a parsed configuration text, kept to locate keys in it.
type source struct {
	file string
	data string
	tree map[string]any
}

// loc is where a problem is: a key, and if the key lies in an array of
// tables, which array (the first arrayLen parts of key) and which element.
type loc struct {
	key      toml.Key
	arrayLen int
	elem     int
}

// line returns the 1-based line of l's value in s, or 0 if it cannot be
// found (a table only implied by a dotted key, or a key the probe type cannot
// name, e.g. one containing a comma).
func (s *source) line(l loc) int {
	if s == nil || len(l.key) == 0 {
		return 0
	}
	data := s.data
	if l.arrayLen > 0 {
		array := l.key[:l.arrayLen]
		elems, headers := s.arrayElems(array)
		if !headers {
			// An inline array of tables: its elements' keys share one
			// position, so point at the array.
			return s.probeLine(data, array)
		}
		starts := s.headerStarts(array, elems)
		if starts == nil {
			return 0
		}
		if l.elem+1 < len(starts) {
			data = data[:starts[l.elem+1]]
		}
	}
	return s.probeLine(data, l.key)
}

// arrayElems returns how many tables the array at key holds and whether they
// come from [[key]] headers (true) or an inline array (false).
func (s *source) arrayElems(key toml.Key) (int, bool) {
	n, headers := 0, false
	for _, v := range valuesAt(s.tree, key) {
		switch a := v.(type) {
		case []map[string]any:
			n, headers = n+len(a), true
		case []any:
			n += len(a)
		}
	}
	return n, headers
}

// headerStarts returns the byte offsets of the n [[array]] headers, or nil
// if they cannot all be found.
func (s *source) headerStarts(array toml.Key, n int) []int {
	starts := make([]int, n)
	end := len(s.data)
	for i := n - 1; i >= 0; i-- {
		pos, ok := s.probe(s.data[:end], array)
		if !ok || pos.Start >= end {
			return nil
		}
		starts[i], end = pos.Start, pos.Start
	}
	return starts
}

// probeLine returns the line of key in data, or 0.
func (s *source) probeLine(data string, key toml.Key) int {
	pos, ok := s.probe(data, key)
	if !ok {
		return 0
	}
	return 1 + strings.Count(data[:pos.Start], "\n")
}

// errProbe is what the probe field returns to make the decoder report its
// position.
var errProbe = errors.New("config: position probe")

// probeFail fails to decode, so that the decoder reports its key's position.
type probeFail struct{}

func (*probeFail) UnmarshalTOML(any) error { return errProbe }

// probeSkip decodes anything and keeps nothing.
type probeSkip struct{}

func (*probeSkip) UnmarshalTOML(any) error { return nil }

// probe decodes data into a type whose only failing field is at key and
// returns the position the decoder reports for it.
func (s *source) probe(data string, key toml.Key) (toml.Position, bool) {
	t, ok := s.probeType(key, 0)
	if !ok {
		return toml.Position{}, false
	}
	_, err := toml.Decode(data, reflect.New(t).Interface())
	var pe toml.ParseError
	if !errors.As(err, &pe) || pe.Message != errProbe.Error() || pe.LastKey != key.String() || pe.Position.Line == 0 {
		return toml.Position{}, false
	}
	return pe.Position, true
}

// probeType builds the struct type that decodes the table at key[:depth]:
// one field for key[depth], failing at the end of key, and, because the
// decoder also matches field names case-insensitively, a field that decodes
// and ignores each sibling key differing from key[depth] only in case.
func (s *source) probeType(key toml.Key, depth int) (reflect.Type, bool) {
	name := key[depth]
	if name == "" || name == "-" || strings.Contains(name, ",") {
		return nil, false // struct tags cannot name these keys
	}
	var child reflect.Type
	if depth == len(key)-1 {
		child = reflect.TypeFor[probeFail]()
	} else {
		var ok bool
		if child, ok = s.probeType(key, depth+1); !ok {
			return nil, false
		}
		if s.isArray(key[:depth+1]) {
			child = reflect.SliceOf(child)
		}
	}
	fields := []reflect.StructField{{Name: "F0", Type: child, Tag: tag(name)}}
	for _, sib := range s.siblings(key[:depth]) {
		if sib != name && strings.EqualFold(sib, name) && !strings.Contains(sib, ",") {
			fields = append(fields, reflect.StructField{
				Name: "F" + strconv.Itoa(len(fields)),
				Type: reflect.TypeFor[probeSkip](),
				Tag:  tag(sib),
			})
		}
	}
	return reflect.StructOf(fields), true
}

func tag(name string) reflect.StructTag {
	return reflect.StructTag("toml:" + strconv.Quote(name))
}

// isArray reports whether key holds an array (of tables) anywhere.
func (s *source) isArray(key toml.Key) bool {
	for _, v := range valuesAt(s.tree, key) {
		switch v.(type) {
		case []map[string]any, []any:
			return true
		}
	}
	return false
}

// siblings returns the keys of every table at key, sorted.
func (s *source) siblings(key toml.Key) []string {
	var names []string
	for _, t := range tablesAt(s.tree, key) {
		for k := range t {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// tablesAt returns the tables at key, descending into every element of the
// arrays of tables on the way.
func tablesAt(tree map[string]any, key toml.Key) []map[string]any {
	var out []map[string]any
	for _, v := range valuesAt(tree, key) {
		out = append(out, asTables(v)...)
	}
	return out
}

// valuesAt returns the values at key: one, or one per array element that
// holds key when the path crosses arrays of tables.
func valuesAt(tree map[string]any, key toml.Key) []any {
	vals := []any{tree}
	for _, k := range key {
		var next []any
		for _, v := range vals {
			for _, t := range asTables(v) {
				if c, ok := t[k]; ok {
					next = append(next, c)
				}
			}
		}
		vals = next
	}
	return vals
}

// asTables returns v as tables: itself if it is a table, its elements that
// are tables if it is an array.
func asTables(v any) []map[string]any {
	switch v := v.(type) {
	case map[string]any:
		return []map[string]any{v}
	case []map[string]any:
		return v
	case []any:
		var out []map[string]any
		for _, e := range v {
			if t, ok := e.(map[string]any); ok {
				out = append(out, t)
			}
		}
		return out
	}
	return nil
}
