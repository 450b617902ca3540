package policy

import (
	"errors"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// This file finds the line of a key in a policy file. BurntSushi/toml
// records the position of every key while parsing but reports it only in
// the ParseError of a value that failed to decode; so the text is decoded
// once more into a type built for the key, whose only field at the key
// fails, and the error carries the key's position. core/config locates
// configuration keys the same way (position.go there, which also handles
// arrays of tables); a policy file has none, every key path in it is
// unique, and this is the part of that technique it needs.

// errProbe is what the probe field returns to make the decoder report its
// position.
var errProbe = errors.New("policy: position probe")

// probeFail fails to decode, so that the decoder reports its key's position.
type probeFail struct{}

func (*probeFail) UnmarshalTOML(any) error { return errProbe }

// probeSkip decodes anything and keeps nothing.
type probeSkip struct{}

func (*probeSkip) UnmarshalTOML(any) error { return nil }

// keyLine returns the 1-based line of key in data (whose parsed tree is
// tree), or 0 if it cannot be found.
func keyLine(data string, tree map[string]any, key toml.Key) int {
	t, ok := probeType(tree, key, 0)
	if !ok {
		return 0
	}
	_, err := toml.Decode(data, reflect.New(t).Interface())
	var pe toml.ParseError
	if !errors.As(err, &pe) || pe.Message != errProbe.Error() || pe.LastKey != key.String() {
		return 0
	}
	if pe.Position.Start < 0 || pe.Position.Start > len(data) {
		return pe.Position.Line
	}
	return 1 + strings.Count(data[:pe.Position.Start], "\n")
}

// probeType builds the struct type that decodes the table at key[:depth]
// of tree: one field for key[depth], failing at the end of key; and,
// because the decoder also matches field names case-insensitively, a field
// that decodes and ignores each sibling differing from key[depth] only in
// case.
func probeType(tree map[string]any, key toml.Key, depth int) (reflect.Type, bool) {
	name := key[depth]
	if name == "" || name == "-" || strings.Contains(name, ",") {
		return nil, false // struct tags cannot name these keys
	}
	var child reflect.Type
	if depth == len(key)-1 {
		child = reflect.TypeFor[probeFail]()
	} else {
		sub, _ := tree[name].(map[string]any)
		var ok bool
		if child, ok = probeType(sub, key, depth+1); !ok {
			return nil, false
		}
	}
	fields := []reflect.StructField{{Name: "F0", Type: child, Tag: tag(name)}}
	for _, sib := range slices.Sorted(maps.Keys(tree)) {
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
