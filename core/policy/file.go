package policy

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/rustynet/rustynet/core/membership"
)

// The policy file (docs/policy.md §5): the TOML form people write, one
// table per rule,
//
//	[rules.NAME]
//	context = "mesh"          # optional: mesh (default), router, exit
//	src = ["tag:admin"]       # selectors; a bare id is node:ID
//	dst = ["tag:server"]
//	ports = ["tcp/22"]        # port specs
//
// decoded strictly: an unknown or misspelt key, a value of the wrong type
// or a rule the trust engine would refuse is an error naming the file, the
// line and the key.

// File is a decoded policy file.
type File struct {
	// Policy is the canonical document the file stands for; it is valid
	// (membership.ValidatePolicy).
	Policy *membership.Policy
	// Lines maps each rule's name to the line of its table (0 if unknown).
	Lines map[string]int
}

// FileError is a problem with a policy file: where it is and what is
// wrong.
type FileError struct {
	File string // the file's name as given to ParseFile
	Line int    // 1-based; 0 if unknown
	Key  string // dotted TOML key, e.g. "rules.ssh.ports"; "" for syntax errors without one
	// Code is the trust engine's code when the engine refuses a value (a
	// selector not allowed in its context, a limit), as it would refuse the
	// signed document; "" for a problem of form (syntax, an unknown key, a
	// value of the wrong type).
	Code membership.Code
	Msg  string
}

// Error returns "file:line: key: msg", leaving out ":line" when the line is
// unknown and "key: " when there is no key.
func (e *FileError) Error() string {
	s := e.File
	if e.Line > 0 {
		s += ":" + strconv.Itoa(e.Line)
	}
	s += ": "
	if e.Key != "" {
		s += e.Key + ": "
	}
	return s + e.Msg
}

// The keys of a rule table.
const (
	keyRules   = "rules"
	keyContext = "context"
	keySrc     = "src"
	keyDst     = "dst"
	keyPorts   = "ports"
)

var ruleKeys = []string{keyContext, keySrc, keyDst, keyPorts}

// ParseFile decodes the policy file data (name is used in errors) into
// the canonical policy, validated with limits l (nil: the defaults). Every
// problem is a *FileError: the one that comes first in the file.
func ParseFile(name string, data []byte, l *membership.Limits) (*File, error) {
	var tree map[string]any
	if _, err := toml.Decode(string(data), &tree); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			line := pe.Position.Line
			if pe.Position.Start >= 0 && pe.Position.Start <= len(data) {
				// The parser counts the newline ending a bad line as the
				// start of the next one: take the line from the offset.
				line = 1 + strings.Count(string(data[:pe.Position.Start]), "\n")
			}
			return nil, &FileError{File: name, Line: line, Key: pe.LastKey, Msg: pe.Message}
		}
		return nil, &FileError{File: name, Msg: err.Error()}
	}
	d := &fileDecoder{name: name, data: string(data), tree: tree, limits: l}
	f := d.decode()
	if err := d.err(); err != nil {
		return nil, err
	}
	return f, nil
}

// fileDecoder collects the problems of one file with their keys.
type fileDecoder struct {
	name   string
	data   string
	tree   map[string]any
	limits *membership.Limits
	probs  []*FileError
}

// fail records a problem at key (code "" for a problem of form).
func (d *fileDecoder) fail(key toml.Key, code membership.Code, format string, args ...any) {
	d.probs = append(d.probs, &FileError{File: d.name, Line: keyLine(d.data, d.tree, key), Key: key.String(), Code: code, Msg: fmt.Sprintf(format, args...)})
}

// failEngine records an error of the trust engine at key, with its code.
func (d *fileDecoder) failEngine(key toml.Key, err error) {
	var me *membership.Error
	if errors.As(err, &me) {
		d.fail(key, me.Code, "%s", me.Msg)
		return
	}
	d.fail(key, membership.IllegalOperation, "%v", err)
}

// err returns the problem that comes first in the file, or nil.
func (d *fileDecoder) err() error {
	if len(d.probs) == 0 {
		return nil
	}
	// Unknown lines (0) sort last.
	slices.SortStableFunc(d.probs, func(a, b *FileError) int { return cmp.Compare(uint(a.Line-1), uint(b.Line-1)) })
	return d.probs[0]
}

func (d *fileDecoder) decode() *File {
	f := &File{Policy: &membership.Policy{Rules: []membership.Rule{}}, Lines: map[string]int{}}
	for _, k := range slices.Sorted(maps.Keys(d.tree)) {
		if k != keyRules {
			d.unknown(toml.Key{k}, []string{keyRules}, "a policy file holds only [rules.NAME] tables")
		}
	}
	rules, ok := d.tree[keyRules].(map[string]any)
	if _, present := d.tree[keyRules]; present && !ok {
		d.fail(toml.Key{keyRules}, "", "must be a table of rules ([rules.NAME]), not %s", tomlType(d.tree[keyRules]))
	}
	for _, name := range slices.Sorted(maps.Keys(rules)) {
		key := toml.Key{keyRules, name}
		t, ok := rules[name].(map[string]any)
		if !ok {
			d.fail(key, "", "a rule must be a table ([rules.%s]), not %s", name, tomlType(rules[name]))
			continue
		}
		f.Lines[name] = d.tableLine(key, t)
		if r, ok := d.rule(key, name, t); ok {
			f.Policy.Rules = append(f.Policy.Rules, r)
		}
	}
	f.Policy.Normalize()
	if len(d.probs) == 0 {
		if err := membership.ValidatePolicy(f.Policy, d.limits); err != nil {
			d.failEngine(toml.Key{keyRules}, err)
		}
	}
	return f
}

// tableLine returns the line of the table at key: its header, or its first
// key if it has no header of its own.
func (d *fileDecoder) tableLine(key toml.Key, t map[string]any) int {
	if line := keyLine(d.data, d.tree, key); line > 0 {
		return line
	}
	first := 0
	for k := range t {
		if l := keyLine(d.data, d.tree, append(key[:len(key):len(key)], k)); l > 0 && (first == 0 || l < first) {
			first = l
		}
	}
	return first
}

// unknown records key as unknown, with a hint if it differs from a known
// key only in case, else with what belongs there.
func (d *fileDecoder) unknown(key toml.Key, known []string, hint string) {
	last := key[len(key)-1]
	for _, k := range known {
		if strings.EqualFold(k, last) {
			d.fail(key, "", "unknown key (keys are case-sensitive: %s)", k)
			return
		}
	}
	d.fail(key, "", "unknown key (%s)", hint)
}

// rule decodes the rule table t named name at key.
func (d *fileDecoder) rule(key toml.Key, name string, t map[string]any) (membership.Rule, bool) {
	at := func(k string) toml.Key { return append(key[:len(key):len(key)], k) }
	n := len(d.probs)
	for _, k := range slices.Sorted(maps.Keys(t)) {
		if !slices.Contains(ruleKeys, k) {
			d.unknown(at(k), ruleKeys, "a rule has "+strings.Join(ruleKeys, ", "))
		}
	}
	// A rule with a misspelt key lacks the key it meant: the unknown key
	// says more than "required" would.
	misspelt := len(d.probs) > n
	r := membership.Rule{Name: name, Context: membership.ContextMesh}
	if v, ok := t[keyContext]; ok {
		s, ok := v.(string)
		if !ok {
			d.fail(at(keyContext), "", "must be a string (mesh, router or exit), not %s", tomlType(v))
		}
		r.Context = membership.Context(s)
	}
	strs := func(k string) []string {
		v, ok := t[k]
		if !ok {
			if !misspelt {
				d.fail(key, "", "%s is required", k)
			}
			return nil
		}
		arr, ok := v.([]any)
		if !ok {
			d.fail(at(k), "", "must be an array of strings, not %s", tomlType(v))
			return nil
		}
		out := make([]string, 0, len(arr))
		for _, e := range arr {
			s, ok := e.(string)
			if !ok {
				d.fail(at(k), "", "must be an array of strings, but holds %s", tomlType(e))
				return nil
			}
			out = append(out, s)
		}
		return out
	}
	for _, k := range []string{keySrc, keyDst} {
		var ss []membership.Selector
		for _, s := range strs(k) {
			sel, err := fileSelector(s)
			if err != nil {
				d.failEngine(at(k), err)
				continue
			}
			ss = append(ss, sel)
		}
		if k == keySrc {
			r.Src = ss
		} else {
			r.Dst = ss
		}
	}
	for _, s := range strs(keyPorts) {
		p, err := membership.ParsePortSpec(s)
		if err != nil {
			d.failEngine(at(keyPorts), err)
			continue
		}
		r.Ports = append(r.Ports, p)
	}
	if len(d.probs) > n {
		return r, false
	}
	r.Normalize()
	if err := membership.ValidateRule(&r, d.limits); err != nil {
		d.failEngine(key, err)
		return r, false
	}
	return r, true
}

// fileSelector parses a selector as a policy file spells it: the canonical
// spellings, a bare node id for node:ID, and any spelling of a prefix that
// Go parses (it must still be masked).
func fileSelector(s string) (membership.Selector, error) {
	if membership.ValidID(s) && s != membership.MembersSelector().String() && s != membership.InternetSelector().String() {
		return membership.NodeSelector(s), nil
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return membership.Selector{}, fmt.Errorf("%q is not a prefix", s)
		}
		return membership.PrefixSelector(p), nil
	}
	return membership.ParseSelector(s)
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
