package membership_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rustynet/rustynet/core/membership"
)

// TestBoundParts holds what Evaluate takes in place from an update's
// signed bytes — the update digest and a set_policy's policy — equal to
// what encoding its body gives, for every golden update of the three
// schema versions (set_policy among them) and a fork resolution, whose
// sides' bodies are embedded whole. FuzzParseSignedUpdate checks the same
// on every update it accepts.
func TestBoundParts(t *testing.T) {
	updates := map[string]*membership.SignedUpdate{"resolve_fork": resolutionSeed(t)}
	for name, data := range goldenUpdates(t, ".update.json") {
		u, err := membership.ParseSignedUpdate(data, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		updates[name] = u
	}
	policies := 0
	for name, u := range updates {
		if u.Body.Operation.Type == membership.OpSetPolicy {
			policies++
		}
		if err := membership.CheckBoundParts(u); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if policies < 3 {
		t.Fatalf("%d set_policy updates among the vectors, want 3 or more", policies)
	}
}

// goldenUpdates returns the golden vectors' files of every schema version
// whose names end in suffix (".update.json": update files; ".body": their
// bodies), by path.
func goldenUpdates(t *testing.T, suffix string) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "golden*", "*"+suffix))
	if err != nil || len(files) < 20 {
		t.Fatalf("golden *%s files: %d, %v", suffix, len(files), err)
	}
	out := make(map[string][]byte, len(files))
	for _, f := range files {
		if out[f], err = os.ReadFile(f); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
