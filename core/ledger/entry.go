package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"strconv"

	"github.com/rustynet/rustynet/core/membership"
)

// domainEntry separates log-entry hashes from every other hash.
const domainEntry = "rustynet.ledger.entry.v1\x00"

// entry is one log entry as stored:
//
//	{"index":N,"prev_entry_hash":"<hex>","update":<signed update file form>}
//
// Its hash is SHA-256(domainEntry || stored bytes); entry N+1 carries the
// hash of entry N (entry 1 carries 64 zeroes).
type entry struct {
	Index  uint64
	Prev   membership.Hash
	Update *membership.SignedUpdate
	Hash   membership.Hash
}

func encodeEntry(index uint64, prev membership.Hash, u *membership.SignedUpdate) []byte {
	var b bytes.Buffer
	b.WriteString(`{"index":`)
	b.WriteString(strconv.FormatUint(index, 10))
	b.WriteString(`,"prev_entry_hash":"`)
	b.WriteString(prev.String())
	b.WriteString(`","update":`)
	b.Write(bytes.TrimRight(u.Encode(), "\n"))
	b.WriteString("}")
	return b.Bytes()
}

func hashEntry(data []byte) membership.Hash {
	h := sha256.New()
	h.Write([]byte(domainEntry))
	h.Write(data)
	return membership.Hash(h.Sum(nil))
}

// decodeEntry parses stored bytes; it checks form, not trust.
func decodeEntry(data []byte, l *membership.Limits) (*entry, error) {
	var w struct {
		Index         uint64          `json:"index"`
		PrevEntryHash string          `json:"prev_entry_hash"`
		Update        json.RawMessage `json:"update"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return nil, integrityf("log entry is not a ledger entry: %v", err)
	}
	if dec.More() {
		return nil, integrityf("trailing data after a log entry")
	}
	prev, err := membership.ParseHash(w.PrevEntryHash)
	if err != nil {
		return nil, integrityf("log entry %d: prev_entry_hash: %v", w.Index, err)
	}
	u, err := membership.ParseSignedUpdate(w.Update, l)
	if err != nil {
		return nil, integrityf("log entry %d: %v", w.Index, err)
	}
	return &entry{Index: w.Index, Prev: prev, Update: u, Hash: hashEntry(data)}, nil
}
