package config

import (
	"bufio"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// referencePath is the configuration reference, which must document
// exactly the tables and keys of keys.go.
var referencePath = filepath.Join("..", "..", "docs", "configuration.md")

// refKey is a row of the reference: a key of a table.
type refKey struct {
	table, key, typ, def string
	line                 int
}

func (k refKey) dotted() string { return k.table + "." + k.key }

// reference is what the reference documents.
type reference struct {
	tables   map[string]bool // table name → is an array of tables
	keys     []refKey
	examples []refExample // its toml code blocks
}

// refExample is a toml block of the reference and, if a text block comes
// next, what `rustynet config check` prints for it.
type refExample struct {
	text   string
	line   int // of the opening fence
	output string
}

var (
	refHeading = regexp.MustCompile("^## `(\\[\\[?)([a-z0-9_.]+)\\]\\]?`$")
	refRow     = regexp.MustCompile("^\\| `([a-z0-9_]+)` \\| ([^|]+) \\| ([^|]+) \\|")
	refLiteral = regexp.MustCompile("^`([^`]+)`$")
)

// readReference parses the reference: a section "## `[table]`" or
// "## `[[table]]`" per table, holding a markdown table whose rows start
// with "| `key` | type | default |".
func readReference(t *testing.T) *reference {
	t.Helper()
	f, err := os.Open(referencePath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ref := &reference{tables: map[string]bool{}}
	table := ""
	fence := ""           // the info string of the code block being read ("plain" if none), "" outside one
	var block *refExample // the toml or text block being read
	prevToml := false     // the last block was a toml block
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case fence != "" && line == "```":
			switch {
			case fence == "toml":
				ref.examples = append(ref.examples, *block)
			case fence == "text" && prevToml:
				ref.examples[len(ref.examples)-1].output = block.text
			}
			prevToml, fence = fence == "toml", ""
		case fence != "":
			block.text += line + "\n"
		case strings.HasPrefix(line, "```"):
			fence, block = strings.TrimPrefix(line, "```"), &refExample{line: n}
			if fence == "" {
				fence = "plain"
			}
		case strings.HasPrefix(line, "## "):
			table = ""
			if m := refHeading.FindStringSubmatch(line); m != nil {
				table = m[2]
				if _, dup := ref.tables[table]; dup {
					t.Errorf("%s:%d: [%s] is documented twice", referencePath, n, table)
				}
				ref.tables[table] = m[1] == "[["
			}
		default:
			m := refRow.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			if table == "" {
				t.Errorf("%s:%d: key %s is outside a table's section", referencePath, n, m[1])
				continue
			}
			ref.keys = append(ref.keys, refKey{table: table, key: m[1], typ: strings.TrimSpace(m[2]), def: strings.TrimSpace(m[3]), line: n})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ref
}

// TestReferenceMatchesSchema checks docs/configuration.md against keys.go:
// the same tables, the same keys, the same required keys.
func TestReferenceMatchesSchema(t *testing.T) {
	ref := readReference(t)

	wantTables := map[string]bool{}
	for _, s := range tableSpecs {
		wantTables[s.name] = s.array
	}
	if diff := cmp.Diff(wantTables, ref.tables); diff != "" {
		t.Errorf("tables (name → array of tables): got … want (-keys.go +%s):\n%s", referencePath, diff)
	}

	var got []string
	for _, k := range ref.keys {
		got = append(got, k.dotted())
	}
	var want []string
	for k := range valueKeys {
		want = append(want, k)
	}
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("keys: got … want (-keys.go +%s):\n%s", referencePath, diff)
	}

	for _, k := range ref.keys {
		spec := tablesByName[k.table]
		if spec == nil {
			continue // reported above
		}
		if req := slices.Contains(spec.required, k.key); req != (k.def == "required") {
			t.Errorf("%s:%d: %s: default %q, but keys.go says required: %v", referencePath, k.line, k.dotted(), k.def, req)
		}
	}
}

// TestSchemaDeclarations checks keys.go itself: every table's parent is a
// table, and a table requires only keys it has.
func TestSchemaDeclarations(t *testing.T) {
	for _, s := range tableSpecs {
		if i := strings.LastIndex(s.name, "."); i >= 0 && tablesByName[s.name[:i]] == nil {
			t.Errorf("table %s: its parent %s is not declared", s.name, s.name[:i])
		}
		for _, r := range s.required {
			if !slices.Contains(s.keys, r) {
				t.Errorf("table %s requires %s, which it does not have", s.name, r)
			}
		}
	}
}

// minimalElements are a valid element of each array of tables, with its
// required keys only.
var minimalElements = map[string][]string{
	"proxy.forward": {`listen = "127.0.0.1:8081"`, `target = "100.64.0.2:80"`},
	"proxy.expose":  {`port = 80`, `target = "127.0.0.1:8000"`},
}

// withKey returns the base configuration with key k set to value; for a
// key of an array of tables, in its one element.
func withKey(t *testing.T, k refKey, value string) string {
	t.Helper()
	if !tablesByName[k.table].array {
		text, _ := doc(k.dotted() + " = " + value)
		return text
	}
	elem, ok := minimalElements[k.table]
	if !ok {
		t.Fatalf("minimalElements has no element of [[%s]]", k.table)
	}
	lines := []string{"[[" + k.table + "]]"}
	for _, l := range elem {
		if !strings.HasPrefix(l, k.key+" =") {
			lines = append(lines, l)
		}
	}
	text, _ := doc(append(lines, k.key+" = "+value)...)
	return text
}

// refTypes are the types the reference uses, and how the decoder refuses a
// table given to a key of each.
var refTypes = map[string]string{
	"string":           "must be a string, not a table",
	"path":             "must be a string, not a table",
	"duration":         "must be a string, not a table",
	"address":          "must be a string, not a table",
	"integer":          "must be an integer, not a table",
	"boolean":          "must be true or false, not a table",
	"array of strings": "must be an array of strings, not a table",
}

// TestReferenceTypes sets each documented key to a table: the decoder must
// refuse it as the documented type. This also finds a key keys.go declares
// but the decoder never reads.
func TestReferenceTypes(t *testing.T) {
	for _, k := range readReference(t).keys {
		if tablesByName[k.table] == nil {
			continue // TestReferenceMatchesSchema reports it
		}
		t.Run(k.dotted(), func(t *testing.T) {
			want, ok := refTypes[k.typ]
			if !ok {
				t.Fatalf("%s:%d: type %q is none of the reference's types", referencePath, k.line, k.typ)
			}
			text := withKey(t, k, "{}")
			_, err := Parse([]byte(text), "node.toml", "/etc/rn")
			var list ErrorList
			if !errors.As(err, &list) || !slices.ContainsFunc(list, func(e *Error) bool { return e.Key == k.dotted() && e.Msg == want }) {
				t.Errorf("%s:%d: %s is documented as %s: got %v, want a problem %q\n%s", referencePath, k.line, k.dotted(), k.typ, err, want, numbered(text))
			}
		})
	}
}

// TestReferenceDefaults sets each key documented with a TOML default to
// that default: the configuration must be the same as without it.
func TestReferenceDefaults(t *testing.T) {
	base := mustParse(t)
	opts := cmp.Options{cmpopts.IgnoreUnexported(Config{}), cmpAddrs,
		cmp.Comparer(func(a, b *url.URL) bool { return a == b || a != nil && b != nil && *a == *b })}
	for _, k := range readReference(t).keys {
		m := refLiteral.FindStringSubmatch(k.def)
		if m == nil || tablesByName[k.table] == nil {
			continue // required, or a default described in words
		}
		t.Run(k.dotted(), func(t *testing.T) {
			text := withKey(t, k, m[1])
			c, err := Parse([]byte(text), "node.toml", "/etc/rn")
			if err != nil {
				t.Fatalf("%s:%d: %s = %s: %v", referencePath, k.line, k.dotted(), m[1], err)
			}
			want := base
			if tablesByName[k.table].array {
				without, _ := doc(append([]string{"[[" + k.table + "]]"}, minimalElements[k.table]...)...)
				if want, err = Parse([]byte(without), "node.toml", "/etc/rn"); err != nil {
					t.Fatal(err)
				}
			}
			if diff := cmp.Diff(want, c, opts); diff != "" {
				t.Errorf("%s:%d: %s = %s is not the default: got … want (-default +set):\n%s", referencePath, k.line, k.dotted(), m[1], diff)
			}
		})
	}
}

// TestReferenceExamples parses every toml block of the reference not
// followed by the problems found in it: each is a configuration with no
// problem but required keys it may leave out.
func TestReferenceExamples(t *testing.T) {
	ref := readReference(t)
	if len(ref.examples) == 0 {
		t.Fatalf("%s has no toml example", referencePath)
	}
	for _, ex := range ref.examples {
		if ex.output != "" {
			continue // TestReferenceCheckOutput
		}
		_, err := Parse([]byte(ex.text), "example.toml", "/etc/rn")
		var list ErrorList
		if err != nil && !errors.As(err, &list) {
			t.Fatalf("%s:%d: %v", referencePath, ex.line, err)
		}
		for _, e := range list {
			if e.Msg != "required key is missing" {
				t.Errorf("%s:%d: the example has a problem: %v\n%s", referencePath, ex.line, e, numbered(ex.text))
			}
		}
	}
}
