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

// encodeEntry's layout around the index, the previous entry's hash and
// the update; decodeEntryAsWritten reads exactly this layout.
const (
	entryStart  = `{"index":`
	entryPrev   = `,"prev_entry_hash":"`
	entryUpdate = `","update":`
)

func encodeEntry(index uint64, prev membership.Hash, u *membership.SignedUpdate) []byte {
	var b bytes.Buffer
	b.WriteString(entryStart)
	b.WriteString(strconv.FormatUint(index, 10))
	b.WriteString(entryPrev)
	b.WriteString(prev.String())
	b.WriteString(entryUpdate)
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
	if e, ok := decodeEntryAsWritten(data, l); ok {
		return e, nil
	}
	return decodeEntryJSON(data, l)
}

// decodeEntryJSON is decodeEntry for any JSON form of an entry.
func decodeEntryJSON(data []byte, l *membership.Limits) (*entry, error) {
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
	if len(bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n")) > 0 {
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

// decodeEntryAsWritten decodes data if it is in exactly the form
// encodeEntry writes and its update parses, without scanning the update
// twice (once as the envelope's member, once as an update); otherwise ok
// is false. decodeEntryJSON gives the same entry for every input this
// accepts (TestDecodeEntryAsWritten, FuzzDecodeEntry).
func decodeEntryAsWritten(data []byte, l *membership.Limits) (e *entry, ok bool) {
	rest, ok := bytes.CutPrefix(data, []byte(entryStart))
	if !ok {
		return nil, false
	}
	digits := 0
	for digits < len(rest) && '0' <= rest[digits] && rest[digits] <= '9' {
		digits++
	}
	if digits == 0 || (rest[0] == '0' && digits > 1) {
		return nil, false
	}
	index, err := strconv.ParseUint(string(rest[:digits]), 10, 64)
	if err != nil {
		return nil, false
	}
	rest, ok = bytes.CutPrefix(rest[digits:], []byte(entryPrev))
	if !ok || len(rest) < 64 {
		return nil, false
	}
	prev, err := membership.ParseHash(string(rest[:64]))
	if err != nil {
		return nil, false
	}
	rest, ok = bytes.CutPrefix(rest[64:], []byte(entryUpdate))
	if !ok {
		return nil, false
	}
	update, ok := bytes.CutSuffix(rest, []byte("}"))
	if !ok {
		return nil, false
	}
	u, err := membership.ParseSignedUpdate(update, l)
	if err != nil {
		return nil, false
	}
	return &entry{Index: index, Prev: prev, Update: u, Hash: hashEntry(data)}, true
}
