package policy

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/rustynet/rustynet/core/membership"
)

// Format returns p as a policy file (docs/policy.md §5) that ParseFile
// reads back as p: one table per rule, selectors and port specs in their
// canonical spellings. header, if not empty, is written first as comment
// lines.
func Format(p *membership.Policy, header string) []byte {
	var b bytes.Buffer
	if header != "" {
		for _, line := range strings.Split(strings.TrimRight(header, "\n"), "\n") {
			fmt.Fprintf(&b, "# %s\n", line)
		}
	}
	if p == nil || len(p.Rules) == 0 {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString("# No rules: everything is denied.\n")
		return b.Bytes()
	}
	for i, r := range p.Rules {
		if i > 0 || b.Len() > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "[rules.%s]\n", tomlKey(r.Name))
		fmt.Fprintf(&b, "context = %q\n", r.Context)
		fmt.Fprintf(&b, "src = %s\n", tomlStrings(selectorStrings(r.Src)))
		fmt.Fprintf(&b, "dst = %s\n", tomlStrings(selectorStrings(r.Dst)))
		ports := make([]string, len(r.Ports))
		for j, p := range r.Ports {
			ports[j] = p.String()
		}
		fmt.Fprintf(&b, "ports = %s\n", tomlStrings(ports))
	}
	return b.Bytes()
}

// tomlKey spells a rule name (an id) as a TOML key: bare unless it holds a
// dot. Ids have no quote or backslash to escape.
func tomlKey(name string) string {
	if strings.Contains(name, ".") {
		return `"` + name + `"`
	}
	return name
}

// tomlStrings spells canonical selectors or port specs (plain ASCII
// without quotes or backslashes) as a TOML array.
func tomlStrings(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = `"` + s + `"`
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func selectorStrings(ss []membership.Selector) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.String()
	}
	return out
}
