package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Version is the record format's version, the "v" of every record.
const Version = 1

// domain separates audit-record hashes from every other hash the node
// computes (the ledger's entries use their own).
const domain = "rustynet.audit.v1\x00"

// Kind is what a record reports. The set is closed: a record of another
// kind does not verify.
type Kind string

// Record kinds. Those under "audit." are written by the log itself.
const (
	// KindOpened: a writer opened the log (the daemon started); Epoch and
	// Root are the trusted head it found, Reason says whether the node is
	// in restricted-safe mode.
	KindOpened Kind = "audit.opened"
	// KindClosed: the writer closed the log (the daemon stopped cleanly).
	KindClosed Kind = "audit.closed"
	// KindTornTail: the last segment ended in a partial line (a crash in
	// the middle of a write), which was cut off; Lost is its length in bytes.
	KindTornTail Kind = "audit.torn_tail"
	// KindChainBreak: the newest records could not be verified when the
	// log was opened (they were edited or damaged); the chain continues
	// from the last record that verified, and `rustynet audit verify`
	// reports the damage. Lost is how many lines were skipped.
	KindChainBreak Kind = "audit.chain_break"
	// KindLost: Lost events were not recorded, between FirstTime and the
	// record's own time, because the queue was full or writes failed
	// (Reason says which, with the last error).
	KindLost Kind = "audit.lost"
	// KindRotatedOut: the oldest segment, Segment, holding records
	// FirstSeq to LastSeq (the last hashing to LastHash), was deleted to
	// keep the log within its size limit.
	KindRotatedOut Kind = "audit.rotated_out"

	// KindUpdateAccepted: an update was verified and committed; Epoch and
	// Root are the new head, PrevEpoch and PrevRoot the one it extended.
	KindUpdateAccepted Kind = "update.accepted"
	// KindUpdateRejected: an update was refused with Code and Reason;
	// Epoch and Root are the unchanged head.
	KindUpdateRejected Kind = "update.rejected"

	// KindTrustRestricted: the node is in restricted-safe mode (Reason).
	KindTrustRestricted Kind = "trust.restricted"
	// KindTrustRecovered: the node left restricted-safe mode (a restore
	// while it was stopped); PrevEpoch/PrevRoot are the head recorded
	// before, Epoch/Root the verified head now.
	KindTrustRecovered Kind = "trust.recovered"
	// KindTrustChanged: the trusted head changed while the node was
	// stopped (an offline apply-update or restore), outside restricted
	// mode: PrevEpoch/PrevRoot as last recorded, Epoch/Root now.
	KindTrustChanged Kind = "trust.changed_offline"
	// KindTrustStale: the newest trusted update is older than the
	// configured maximum age (SPEC §13 freshness): Epoch/Root the head,
	// Reason how old it is.
	KindTrustStale Kind = "trust.stale"
	// KindTrustForked: the node holds evidence of a fork (an equivocation
	// by approvers) and accepts no update until it is resolved: Reason is
	// the evidence's summary and where it is kept.
	KindTrustForked Kind = "trust.forked"

	// KindPluginCrashed: a plugin instance ended or failed to relaunch
	// (Reason); Restarts counts relaunches since the daemon started.
	KindPluginCrashed Kind = "plugin.crashed"
	// KindPluginRelaunched: a plugin was relaunched and set up again.
	KindPluginRelaunched Kind = "plugin.relaunched"
	// KindPluginBroken: a plugin's crash-loop breaker opened.
	KindPluginBroken Kind = "plugin.broken"
)

// kinds is the closed set of kinds.
var kinds = map[Kind]bool{
	KindOpened: true, KindClosed: true, KindTornTail: true, KindChainBreak: true, KindLost: true, KindRotatedOut: true,
	KindUpdateAccepted: true, KindUpdateRejected: true,
	KindTrustRestricted: true, KindTrustRecovered: true, KindTrustChanged: true, KindTrustStale: true, KindTrustForked: true,
	KindPluginCrashed: true, KindPluginRelaunched: true, KindPluginBroken: true,
}

// Source is where an update came from.
type Source string

// Sources.
const (
	SourceAPI  Source = "api"  // the local control API (rustynet membership apply-update)
	SourceFeed Source = "feed" // the configured feed
	SourcePeer Source = "peer" // another member, over the mesh (core/gossip)
	// SourceConfig: the genesis named in the node's configuration, which
	// the node applied to its empty state at start.
	SourceConfig Source = "config"
)

// Record is one line of the audit log. A caller fills what the event is
// (Kind and the fields that kind uses); the log fills V, Seq, Node, Prev
// and Hash, and Time if it is empty.
//
// No field holds key material: updates are identified by their id, digest
// and the approver ids that signed them, never by their bytes; Reason is
// the error text of the trust engine or a plugin supervisor, capped at
// MaxReason bytes.
type Record struct {
	V    int    `json:"v"`
	Seq  uint64 `json:"seq"`
	Time string `json:"time"` // RFC 3339, UTC, nanoseconds
	Kind Kind   `json:"kind"`
	Node string `json:"node,omitempty"` // the id of the node that recorded it

	Source Source `json:"source,omitempty"`
	// Epoch and Root are the trusted head after the event.
	Epoch uint64 `json:"epoch,omitempty"`
	Root  string `json:"root,omitempty"`
	// PrevEpoch and PrevRoot are the head before it (an accepted update,
	// a recovery).
	PrevEpoch uint64 `json:"prev_epoch,omitempty"`
	PrevRoot  string `json:"prev_root,omitempty"`

	// The update: its id, the epoch it claims, its operation and the node
	// or approver that operation names, the approvers whose signatures
	// counted, and the SHA-256 of the file as received (a refused update
	// is identified without being kept).
	UpdateID    string   `json:"update_id,omitempty"`
	UpdateEpoch uint64   `json:"update_epoch,omitempty"`
	Op          string   `json:"op,omitempty"`
	Target      string   `json:"target,omitempty"`
	Signers     []string `json:"signers,omitempty"`
	Digest      string   `json:"digest,omitempty"`

	Code   string `json:"code,omitempty"`
	Reason string `json:"reason,omitempty"`

	Plugin   string `json:"plugin,omitempty"`
	Restarts int    `json:"restarts,omitempty"`

	// The log's own bookkeeping (KindLost, KindTornTail, KindChainBreak,
	// KindRotatedOut).
	Lost      uint64 `json:"lost,omitempty"`
	FirstTime string `json:"first_time,omitempty"`
	Segment   string `json:"segment,omitempty"`
	FirstSeq  uint64 `json:"first_seq,omitempty"`
	LastSeq   uint64 `json:"last_seq,omitempty"`
	LastHash  string `json:"last_hash,omitempty"`

	// Prev is the hash of the previous record (64 zeroes before the first
	// record ever written); Hash is this record's.
	Prev string `json:"prev"`
	Hash string `json:"hash,omitempty"`
}

// MaxReason bounds Record.Reason in bytes; a longer reason is cut.
const MaxReason = 1024

// maxLine bounds one encoded record; a longer line does not verify.
const maxLine = 16 << 10

// zeroHash is Prev of the first record ever written.
var zeroHash = strings.Repeat("0", 64)

// ErrMalformed is wrapped by the errors of ParseLine.
var ErrMalformed = errors.New("malformed audit record")

// encode returns r's line without the trailing newline.
func encode(r *Record) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	if err := enc.Encode(r); err != nil {
		// Every field is a string, an integer or a string slice.
		panic(fmt.Sprintf("audit: encoding a record: %v", err))
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// hashOf returns the hash r must carry: SHA-256(domain || r's encoding
// without its hash), in hex.
func hashOf(r *Record) string {
	c := *r
	c.Hash = ""
	sum := sha256.Sum256(append([]byte(domain), encode(&c)...))
	return hex.EncodeToString(sum[:])
}

// seal fills r's Prev and Hash and returns its line, newline included.
func seal(r *Record, prev string) []byte {
	r.Prev = prev
	r.Hash = hashOf(r)
	return append(encode(r), '\n')
}

// ParseLine decodes one line (without its newline) and checks that it is
// a record of this format that hashes to its own Hash: byte-identical to
// its re-encoding (no reordered keys, spaces or unknown fields), a known
// Kind and Version. It does not check the chain.
func ParseLine(line []byte) (*Record, error) {
	if len(line) > maxLine {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrMalformed, len(line), maxLine)
	}
	var r Record
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data", ErrMalformed)
	}
	if !bytes.Equal(encode(&r), line) {
		return nil, fmt.Errorf("%w: not in canonical form", ErrMalformed)
	}
	if r.V != Version {
		return nil, fmt.Errorf("%w: version %d", ErrMalformed, r.V)
	}
	if !kinds[r.Kind] {
		return nil, fmt.Errorf("%w: unknown kind %q", ErrMalformed, r.Kind)
	}
	if !isHash(r.Prev) || !isHash(r.Hash) {
		return nil, fmt.Errorf("%w: prev and hash must be 64 hex digits", ErrMalformed)
	}
	if got := hashOf(&r); got != r.Hash {
		return &r, fmt.Errorf("%w: record %d does not hash to its hash (edited)", ErrEdited, r.Seq)
	}
	return &r, nil
}

// ErrEdited is wrapped by ParseLine's error for a well-formed record whose
// content does not match its hash; ParseLine returns the record with it.
var ErrEdited = errors.New("audit record edited")

func isHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// clip cuts s to at most n bytes on a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}
