package conformance_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/rustynet/rustynet/conformance"
)

// TestCaseTable checks the case values themselves: unique, well-formed IDs
// in their kind's groups, a level, a rule and code.
func TestCaseTable(t *testing.T) {
	idForm := regexp.MustCompile(`^[a-z]+(\.[a-z0-9-]+)+$`)
	for _, kind := range []struct {
		name   string
		cases  []conformance.Case
		groups map[string]bool
	}{
		{"store", conformance.StoreCases(), map[string]bool{"process": true, "store": true}},
		{"backend", conformance.BackendCases(), map[string]bool{"process": true, "backend": true}},
	} {
		seen := map[string]bool{}
		for _, c := range kind.cases {
			if seen[c.ID] {
				t.Errorf("%s: case %s appears twice", kind.name, c.ID)
			}
			seen[c.ID] = true
			if !idForm.MatchString(c.ID) {
				t.Errorf("%s: case ID %q is not group.topic[.detail] in lower case", kind.name, c.ID)
			}
			if group := regexp.MustCompile(`^[a-z]+`).FindString(c.ID); !kind.groups[group] {
				t.Errorf("%s: case %s is in group %q", kind.name, c.ID, group)
			}
			if c.Level != conformance.Must && c.Level != conformance.Should {
				t.Errorf("%s: case %s has level %v", kind.name, c.ID, c.Level)
			}
			if c.Rule == "" || c.Run == nil {
				t.Errorf("%s: case %s lacks a rule or code", kind.name, c.ID)
			}
		}
	}
}

// TestDocsListEveryCase keeps docs/plugin-authors.md in step with the
// suite: every case ID appears there.
func TestDocsListEveryCase(t *testing.T) {
	doc, err := os.ReadFile("../docs/plugin-authors.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, cases := range [][]conformance.Case{conformance.StoreCases(), conformance.BackendCases()} {
		for _, c := range cases {
			if !strings.Contains(string(doc), "`"+c.ID+"`") {
				t.Errorf("docs/plugin-authors.md does not list case %s", c.ID)
			}
		}
	}
}
