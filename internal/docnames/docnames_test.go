package docnames

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestModuleDocs holds this module's package docs to the names they use.
func TestModuleDocs(t *testing.T) {
	findings, err := Check("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		t.Error(f)
	}
}

// TestCheckFindsMissingNames runs the check on a module in testdata whose
// package a names what package b does and does not declare.
func TestCheckFindsMissingNames(t *testing.T) {
	got, err := Check("testdata/mod")
	if err != nil {
		t.Fatal(err)
	}
	want := []Finding{
		{Dir: "a", Name: "b.Missing"},
		{Dir: "a", Name: "b.T.Gone"},
		{Dir: "a", Name: "T.Nope"},
		{Dir: "a", Name: "goneName"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}
