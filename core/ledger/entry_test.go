package ledger

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// sameDecoding fails t unless decodeEntry and decodeEntryJSON agree on
// data: both refuse it, or both give the same index, links, hash and
// update. It returns whether data decoded.
func sameDecoding(t *testing.T, data []byte) bool {
	t.Helper()
	got, gotErr := decodeEntry(data, nil)
	want, wantErr := decodeEntryJSON(data, nil)
	switch {
	case (gotErr == nil) != (wantErr == nil):
		t.Fatalf("decodeEntry: %v; as JSON: %v\n%s", gotErr, wantErr, data)
	case gotErr != nil:
		return false
	}
	if got.Index != want.Index || got.Prev != want.Prev || got.Hash != want.Hash ||
		!bytes.Equal(got.Update.Encode(), want.Update.Encode()) {
		t.Fatalf("decodeEntry and decoding as JSON disagree on\n%s\ngot  %d %s %s\nwant %d %s %s", data, got.Index, got.Prev, got.Hash, want.Index, want.Prev, want.Hash)
	}
	return true
}

// entryFixture is a stored entry as encodeEntry writes it, and its parts.
func entryFixture(t testing.TB) (data []byte, update string, prev membership.Hash) {
	net := membershiptest.New(t, 2)
	u := net.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node("late", 999)})
	prev = membership.Hash{0x01, 0xab, 0xcd}
	data = encodeEntry(7, prev, u)
	return data, string(bytes.TrimRight(u.Encode(), "\n")), prev
}

// TestDecodeEntryAsWritten: the shortcut for entries in encodeEntry's form
// decodes them, and every variation of that form — other JSON spellings
// of the same entry, and damage — decodes as encoding/json decodes it.
func TestDecodeEntryAsWritten(t *testing.T) {
	data, update, prev := entryFixture(t)
	if _, ok := decodeEntryAsWritten(data, nil); !ok {
		t.Fatal("an entry as encodeEntry writes it is not decoded by the shortcut")
	}
	if !sameDecoding(t, data) {
		t.Fatal("an entry as encodeEntry writes it does not decode")
	}
	h := prev.String()
	cases := []struct {
		name   string
		data   string
		decode bool // whether it is an entry at all
	}{
		{"spaces", `{ "index": 7, "prev_entry_hash": "` + h + `", "update": ` + update + ` }`, true},
		{"members reordered", `{"prev_entry_hash":"` + h + `","index":7,"update":` + update + `}`, true},
		{"index repeated after the update", `{"index":7,"prev_entry_hash":"` + h + `","update":` + update + `,"index":8}`, true},
		{"escaped hash digit", `{"index":7,"prev_entry_hash":"\u0030` + h[1:] + `","update":` + update + `}`, true},
		{"upper-case hash", `{"index":7,"prev_entry_hash":"` + strings.ToUpper(h) + `","update":` + update + `}`, false},
		{"index with a leading zero", `{"index":07,"prev_entry_hash":"` + h + `","update":` + update + `}`, false},
		{"index beyond 64 bits", `{"index":18446744073709551616,"prev_entry_hash":"` + h + `","update":` + update + `}`, false},
		{"negative index", `{"index":-7,"prev_entry_hash":"` + h + `","update":` + update + `}`, false},
		{"unknown member after the update", `{"index":7,"prev_entry_hash":"` + h + `","update":` + update + `,"x":1}`, false},
		{"trailing data", `{"index":7,"prev_entry_hash":"` + h + `","update":` + update + `}{}`, false},
		{"two closing braces", `{"index":7,"prev_entry_hash":"` + h + `","update":` + update + `}}`, false},
		{"no closing brace", `{"index":7,"prev_entry_hash":"` + h + `","update":` + update, false},
		{"short hash", `{"index":7,"prev_entry_hash":"` + h[2:] + `","update":` + update + `}`, false},
		{"update cut short", `{"index":7,"prev_entry_hash":"` + h + `","update":` + update[:len(update)-2] + `}`, false},
		{"update null", `{"index":7,"prev_entry_hash":"` + h + `","update":null}`, false},
		{"empty", ``, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := sameDecoding(t, []byte(c.data)); got != c.decode {
				t.Errorf("decoded: %v, want %v", got, c.decode)
			}
		})
	}
}

// FuzzDecodeEntry: whatever the bytes, decodeEntry (with its shortcut)
// and decoding them as JSON agree.
func FuzzDecodeEntry(f *testing.F) {
	data, _, _ := entryFixture(f)
	f.Add(data)
	f.Add(bytes.Replace(data, []byte(`"index":7`), []byte(`"index":70`), 1))
	f.Add([]byte(`{"index":1,"prev_entry_hash":"","update":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) { sameDecoding(t, data) })
}
