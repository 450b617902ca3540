package membership_test

import (
	"bytes"
	"testing"

	"github.com/rustynet/rustynet/core/membership"
)

// TestSplitAsEncoded: an update file as Encode writes it (and as a ledger
// entry holds it, without the final newline) is split without decoding
// its envelope; other layouts are not, and every one parses as encoding/json
// alone parses it (FuzzParseSignedUpdate holds the two to the same answer
// on any bytes).
func TestSplitAsEncoded(t *testing.T) {
	u := resolutionSeed(t)
	enc := u.Encode()
	unsigned := *u
	unsigned.Signatures = nil
	cases := []struct {
		name  string
		data  []byte
		split bool
		sigs  int
	}{
		{"as encoded", enc, true, len(u.Signatures)},
		{"without the final newline", bytes.TrimSuffix(enc, []byte("\n")), true, len(u.Signatures)},
		{"no signatures", unsigned.Encode(), true, 0},
		{"compact", bytes.Join(bytes.Fields(enc), nil), false, 0},
		{"two final newlines", append(bytes.Clone(enc), '\n'), false, 0},
		{"a member after the signatures", bytes.Replace(enc, []byte("\n  ]\n}"), []byte("\n  ],\"x\":1\n}"), 1), false, 0},
		{"a signature member added", replaceLast(enc, `"}`, `", "x": "y"}`), false, 0},
		{"an escape in a signature", bytes.Replace(enc, []byte(`"signature": "`), []byte(`"signature": "\u0041`), 1), false, 0},
		{"the body cut short", bytes.Replace(enc, []byte("},\n  \"signatures\""), []byte(",\n  \"signatures\""), 1), false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body, sigs, ok := membership.SplitAsEncoded(c.data)
			if ok != c.split {
				t.Fatalf("split: %v, want %v", ok, c.split)
			}
			if ok && (!bytes.Equal(body, u.BodyBytes()) || sigs != c.sigs) {
				t.Fatalf("split into a body of %d bytes and %d signatures, want %d bytes and %d", len(body), sigs, len(u.BodyBytes()), c.sigs)
			}
			got, err := membership.ParseSignedUpdate(c.data, nil)
			want, wantErr := membership.ParseSignedUpdateStd(c.data)
			if (err == nil) != (wantErr == nil) || (err == nil && (!bytes.Equal(got.BodyBytes(), want.BodyBytes()) || len(got.Signatures) != len(want.Signatures))) {
				t.Fatalf("ParseSignedUpdate: %v; with encoding/json alone: %v", err, wantErr)
			}
		})
	}
}

// replaceLast replaces the last old in b with new.
func replaceLast(b []byte, old, new string) []byte {
	i := bytes.LastIndex(b, []byte(old))
	return append(append(bytes.Clone(b[:i]), new...), b[i+len(old):]...)
}
