//go:build unix

package config

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestReferenceCheckOutput checks the problems the reference shows for its
// sample of a bad file: they are what Check reports for the file in
// /etc/rustynet, its key file n1.key readable by others and no
// genesis.json beside it.
func TestReferenceCheckOutput(t *testing.T) {
	var samples []refExample
	for _, ex := range readReference(t).examples {
		if ex.output != "" {
			samples = append(samples, ex)
		}
	}
	if len(samples) == 0 {
		t.Fatalf("%s shows no problems of a sample file", referencePath)
	}
	for _, ex := range samples {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "node.toml"), ex.text, 0o644)
		writeFile(t, filepath.Join(dir, "n1.key"), "", 0o644)
		t.Chdir(dir)
		_, err := Check("node.toml")
		if err == nil {
			t.Fatalf("%s:%d: Check found no problem in the sample", referencePath, ex.line)
		}
		got := strings.Split(strings.ReplaceAll(err.Error(), dir, "/etc/rustynet"), "\n")
		var want []string
		for _, l := range strings.Split(ex.output, "\n") {
			if strings.HasPrefix(l, "node.toml:") {
				want = append(want, l)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s:%d: the sample's problems: got … want (-%s +Check):\n%s", referencePath, ex.line, referencePath, diff)
		}
	}
}
