package policy_test

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/policy"
)

// TestParseFile: a policy file becomes its canonical document: bare ids
// are node selectors, lists are sorted and de-duplicated, port lists
// merged into their one spelling, the context defaults to mesh, names with
// dots are quoted keys, and every rule's line is known.
func TestParseFile(t *testing.T) {
	text := `# comment
[rules.web]
src = ["members", "tag:laptop", "members"]
dst = ["web-1", "tag:web"]
ports = ["tcp/443", "tcp/80", "tcp/81", "udp/443", "tcp/82-90", "tcp/85"]

[rules."v2.db"]
context = "router"
src = ["node:ann"]
dst = ["FD00::/8", "10.0.0.0/8"]
ports = ["tcp/1-65535", "icmp", "udp/53-53"]

[rules.all]
context = "exit"
src = ["members"]
dst = ["internet"]
ports = ["icmp", "any", "tcp/22"]

[rules.keywords]
src = ["node:members"]
dst = ["node:internet"]
ports = ["udp"]
`
	f, err := policy.ParseFile("p.toml", []byte(text), nil)
	if err != nil {
		t.Fatalf("ParseFile: %v", err)
	}
	want := `{"rules":[` +
		`{"context":"exit","dst":["internet"],"name":"all","ports":["any"],"src":["members"]},` +
		`{"context":"mesh","dst":["node:internet"],"name":"keywords","ports":["udp"],"src":["node:members"]},` +
		`{"context":"router","dst":["10.0.0.0/8","fd00::/8"],"name":"v2.db","ports":["icmp","tcp","udp/53"],"src":["node:ann"]},` +
		`{"context":"mesh","dst":["node:web-1","tag:web"],"name":"web","ports":["tcp/80-90","tcp/443","udp/443"],"src":["members","tag:laptop"]}]}`
	if got := string(membership.EncodePolicy(f.Policy)); got != want {
		t.Errorf("canonical policy:\n got %s\nwant %s", got, want)
	}
	if diff := cmp.Diff(map[string]int{"web": 2, "v2.db": 7, "all": 13, "keywords": 19}, f.Lines); diff != "" {
		t.Errorf("rule lines (-want +got):\n%s", diff)
	}
	empty, err := policy.ParseFile("empty.toml", []byte("# nothing\n"), nil)
	if err != nil || len(empty.Policy.Rules) != 0 {
		t.Errorf("an empty file: got %v, %v; want a policy without rules", empty, err)
	}
}

// TestParseFileErrors: every problem names the file, the line and the key;
// problems of form have no code (the CLI's USAGE), values the trust engine
// refuses carry its code; the problem first in the file is reported.
func TestParseFileErrors(t *testing.T) {
	rule := "[rules.x]\nsrc = [\"members\"]\ndst = [\"members\"]\nports = [\"any\"]\n"
	const ill, lim = membership.IllegalOperation, membership.LimitExceeded
	cases := []struct {
		name, text string
		limits     *membership.Limits
		want       string
		code       membership.Code
	}{
		{"syntax error", "[rules.x]\nsrc = [\"members\"\n", nil, `p.toml:2: rules.x.src: expected a comma (',') or array terminator (']'), but got end of file`, ""},
		{"unknown top-level key", "version = 1\n" + rule, nil, "p.toml:1: version: unknown key (a policy file holds only [rules.NAME] tables)", ""},
		{"case of the rules key", "[RULES.x]\nsrc = []\n", nil, "p.toml:1: RULES: unknown key (keys are case-sensitive: rules)", ""},
		{"unknown rule key", rule + "action = \"allow\"\n", nil, "p.toml:5: rules.x.action: unknown key (a rule has context, src, dst, ports)", ""},
		{"case of a rule key", "[rules.x]\nSRC = [\"members\"]\nsrc = [\"members\"]\ndst = [\"members\"]\nports = [\"any\"]\n", nil, "p.toml:2: rules.x.SRC: unknown key (keys are case-sensitive: src)", ""},
		{"rules not a table", "rules = 3\n", nil, "p.toml:1: rules: must be a table of rules ([rules.NAME]), not an integer", ""},
		{"array of rules", "[[rules]]\nsrc = [\"members\"]\n", nil, "p.toml:1: rules: must be a table of rules ([rules.NAME]), not an array", ""},
		{"rule not a table", "[rules]\nx = 1\n", nil, "p.toml:2: rules.x: a rule must be a table ([rules.x]), not an integer", ""},
		{"missing ports", "[rules.x]\nsrc = [\"members\"]\ndst = [\"members\"]\n", nil, "p.toml:1: rules.x: ports is required", ""},
		{"context not a string", rule + "context = 1\n", nil, "p.toml:5: rules.x.context: must be a string (mesh, router or exit), not an integer", ""},
		{"src not an array", "[rules.x]\nsrc = \"members\"\ndst = [\"members\"]\nports = [\"any\"]\n", nil, "p.toml:2: rules.x.src: must be an array of strings, not a string", ""},
		{"port not a string", "[rules.x]\nsrc = [\"members\"]\ndst = [\"members\"]\nports = [22]\n", nil, "p.toml:4: rules.x.ports: must be an array of strings, but holds an integer", ""},
		{"bad selector", "[rules.x]\nsrc = [\"members\"]\ndst = [\"tag:Web\"]\nports = [\"any\"]\n", nil, `p.toml:3: rules.x.dst: "tag:Web" is not a selector (node:ID, tag:NAME, members, internet or a prefix)`, ill},
		{"bad prefix", "[rules.x]\ncontext = \"router\"\nsrc = [\"members\"]\ndst = [\"10.0.0.0/33\"]\nports = [\"any\"]\n", nil, `p.toml:4: rules.x.dst: "10.0.0.0/33" is not a prefix`, ill},
		{"bad port", "[rules.x]\nsrc = [\"members\"]\ndst = [\"members\"]\nports = [\"tcp/0\"]\n", nil, `p.toml:4: rules.x.ports: "tcp/0" is not a port spec (any, icmp, tcp, udp, tcp/PORT, tcp/FIRST-LAST, udp/…)`, ill},
		{"unknown context", rule + "context = \"lan\"\n", nil, `p.toml:1: rules.x: rule x: context "lan" is not mesh, router or exit`, ill},
		{"internet in a mesh rule", "[rules.x]\nsrc = [\"members\"]\ndst = [\"internet\"]\nports = [\"any\"]\n", nil, `p.toml:1: rules.x: rule x: dst: "internet" is not allowed in the dst of a mesh rule`, ill},
		{"unmasked prefix", "[rules.x]\ncontext = \"router\"\nsrc = [\"members\"]\ndst = [\"10.1.2.3/8\"]\nports = [\"any\"]\n", nil, `p.toml:1: rules.x: rule x: dst: 10.1.2.3/8 is not a masked prefix`, ill},
		{"empty src", "[rules.x]\nsrc = []\ndst = [\"members\"]\nports = [\"any\"]\n", nil, `p.toml:1: rules.x: rule x: src is empty: a rule selects at least one`, ill},
		{"rule name not an id", "[rules.Web]\nsrc = [\"members\"]\ndst = [\"members\"]\nports = [\"any\"]\n", nil, `p.toml:1: rules.Web: rule name "Web" is not 1-63 characters of [a-z0-9._-]`, ill},
		{"too many selectors", "[rules.x]\nsrc = [\"a\", \"b\", \"c\"]\ndst = [\"members\"]\nports = [\"any\"]\n", limits(func(l *membership.Limits) { l.MaxRuleSelectors = 2 }), `p.toml:1: rules.x: rule x: src has 3 selectors, the limit is 2`, lim},
		{"too many rules", rule + strings.Replace(rule, "rules.x", "rules.y", 1), limits(func(l *membership.Limits) { l.MaxPolicyRules = 1 }), `p.toml:1: rules: policy has 2 rules, the limit is 1`, lim},
		{"first problem in the file", "[rules.b]\nsrc = [\"members\"]\ndst = [\"members\"]\nports = [\"tcp/0\"]\n[rules.a]\nsrc = [\"bad!\"]\ndst = [\"members\"]\nports = [\"any\"]\n", nil, `p.toml:4: rules.b.ports: "tcp/0" is not a port spec (any, icmp, tcp, udp, tcp/PORT, tcp/FIRST-LAST, udp/…)`, ill},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := policy.ParseFile("p.toml", []byte(c.text), c.limits)
			var fe *policy.FileError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a *FileError", err)
			}
			if got := err.Error(); got != c.want {
				t.Errorf("error:\n got %s\nwant %s", got, c.want)
			}
			if fe.Code != c.code {
				t.Errorf("code: got %q, want %q", fe.Code, c.code)
			}
		})
	}
}

func limits(f func(*membership.Limits)) *membership.Limits {
	l := membership.DefaultLimits()
	f(&l)
	return &l
}

// TestFormatRoundTrip: Format writes a file ParseFile reads back as the
// same policy, for every policy the tests use.
func TestFormatRoundTrip(t *testing.T) {
	var ps []*membership.Policy
	for _, text := range []string{officePolicy, m5Policy, ""} {
		ps = append(ps, parsePolicy(t, text))
	}
	ps = append(ps, membership.DefaultPolicy())
	for seed := range uint64(40) {
		ps = append(ps, randomNet(t, seed).state().Policy())
	}
	for i, p := range ps {
		text := policy.Format(p, "a header\nof two lines")
		f, err := policy.ParseFile("f.toml", text, nil)
		if err != nil {
			t.Fatalf("policy %d: ParseFile(Format): %v\n%s", i, err, text)
		}
		if got, want := membership.EncodePolicy(f.Policy), membership.EncodePolicy(p); string(got) != string(want) {
			t.Errorf("policy %d: round trip:\n got %s\nwant %s", i, got, want)
		}
	}
}

// TestDocExamples: the policy files shown in docs/policy.md are valid.
func TestDocExamples(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "policy.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```toml\n(.*?)```").FindAllSubmatch(doc, -1)
	if len(blocks) < 2 {
		t.Fatalf("docs/policy.md: found %d toml examples, want at least 2", len(blocks))
	}
	for i, b := range blocks {
		f, err := policy.ParseFile("docs/policy.md example", b[1], nil)
		if err != nil {
			t.Errorf("example %d: %v", i+1, err)
			continue
		}
		if len(f.Policy.Rules) == 0 {
			t.Errorf("example %d has no rules", i+1)
		}
	}
	if got := membership.EncodePolicy(parsePolicy(t, string(blocks[0][1]))); string(got) != string(membership.EncodePolicy(membership.DefaultPolicy())) {
		t.Errorf("the doc's default policy is not membership.DefaultPolicy: %s", got)
	}
	if got, want := membership.EncodePolicy(parsePolicy(t, string(blocks[1][1]))), membership.EncodePolicy(parsePolicy(t, officePolicy)); string(got) != string(want) {
		t.Errorf("the doc's example is not the office scenario of the golden tests:\n got %s\nwant %s", got, want)
	}
}
