package membership

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestEnvelopeKeysPlain: the quick pass of checkEnvelopeKeys never accepts
// what the full check refuses — on hand-made envelopes and on thousands of
// random mutations of real ones — and accepts the update files and log
// entries the engine writes, so that they take the quick path.
func TestEnvelopeKeysPlain(t *testing.T) {
	var genuine [][]byte
	files, err := filepath.Glob(filepath.Join("testdata", "golden*", "*.update.json"))
	if err != nil || len(files) < 10 {
		t.Fatalf("golden update files: %d, %v", len(files), err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		genuine = append(genuine, data)
		if !envelopeKeysPlain(data) {
			t.Errorf("%s: the quick pass does not accept it", f)
		}
	}
	log, err := os.ReadFile(filepath.Join("testdata", "golden", "log.json"))
	if err != nil {
		t.Fatal(err)
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(log, &entries); err != nil {
		t.Fatal(err)
	}
	for i, e := range entries {
		genuine = append(genuine, e)
		if !envelopeKeysPlain(e) {
			t.Errorf("log entry %d: the quick pass does not accept it", i+1)
		}
	}

	var valid, refused int // mutations that are JSON, and that the full check refuses
	check := func(name string, data []byte) {
		t.Helper()
		if !json.Valid(data) {
			return // not what checkEnvelopeKeys is given
		}
		valid++
		if checkEnvelopeKeysFull(data) != nil {
			refused++
		}
		if envelopeKeysPlain(data) {
			if err := checkEnvelopeKeysFull(data); err != nil {
				t.Errorf("%s: %q: the quick pass accepts it, the full check says %v", name, data, err)
			}
		}
	}
	for _, tc := range []struct {
		data  string
		plain bool
	}{
		{`{"body":{},"signatures":[]}`, true},
		{` { "body" : {"a":["}",{"]":"\""}]} , "signatures" : null } `, true},
		{`{"signatures":[{"public_key":"k","signature":"s"},{"signature":"s","public_key":"k"}],"body":1}`, true},
		{`{}`, true},
		{`{"body":{},"body":{}}`, false},
		{`{"Body":{}}`, false},
		{`{"b\u006fdy":{}}`, false},
		{`{"body":{},"extra":1}`, false},
		{`{"signatures":[{"public_key":"k","public_key":"k"}]}`, false},
		{`{"signatures":[{"Signature":"s"}]}`, false},
		{`{"signatures":[null]}`, false},
		{`{"signatures":{}}`, false},
		{`{"signatures":"x"}`, false},
		{`{"signatures":[],"signatures":[]}`, false},
		{`[]`, false},
		{`"body"`, false},
	} {
		if got := envelopeKeysPlain([]byte(tc.data)); got != tc.plain {
			t.Errorf("%s: quick pass %v, want %v", tc.data, got, tc.plain)
		}
		check("hand-made", []byte(tc.data))
	}
	// Trailing data is refused (the full check refuses it too).
	if envelopeKeysPlain([]byte(`{"body":{}} {}`)) || envelopeKeysPlain([]byte(`{"body":{}}}`)) {
		t.Error("the quick pass accepts trailing data")
	}

	rng := rand.New(rand.NewPCG(17, 2))
	alphabet := []byte(`{}[]",:\ bodyBsignaturepublic_key0n` + "\t")
	for range 20000 {
		data := append([]byte(nil), genuine[rng.IntN(len(genuine))]...)
		for range 1 + rng.IntN(3) {
			p := rng.IntN(len(data))
			switch rng.IntN(3) {
			case 0:
				data[p] = alphabet[rng.IntN(len(alphabet))]
			case 1:
				data = append(data[:p], data[p+1:]...)
			case 2:
				q := rng.IntN(len(data))
				lo, hi := min(p, q), max(p, q)
				data = append(data[:hi:hi], data[lo:]...) // repeat a span
			}
		}
		check("mutated", data)
	}
	t.Logf("%d inputs were JSON, the full check refused %d", valid, refused)
	if valid < 1000 || refused < 100 {
		t.Errorf("only %d inputs were JSON and %d refused: the mutations test little", valid, refused)
	}
}
