package membership

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Wire forms: what encoding/json decodes into before conversion. Missing
// fields decode as zero values and extra or misspelt fields are dropped;
// both are then caught by the byte-identity check in ParseBody, because the
// canonical re-encoding emits exactly the schema's fields.
type wireNode struct {
	Addresses []string `json:"addresses"`
	Endpoints []string `json:"endpoints"`
	NodeID    string   `json:"node_id"`
	Owner     string   `json:"owner"`
	PublicKey string   `json:"public_key"`
	Routes    []string `json:"routes"`
	Status    string   `json:"status"`
	Tags      []string `json:"tags"`
}

type wireApprover struct {
	ApproverID string `json:"approver_id"`
	PublicKey  string `json:"public_key"`
	Role       string `json:"role"`
}

type wireOperation struct {
	Type       string         `json:"type"`
	Threshold  uint64         `json:"threshold"`
	Approvers  []wireApprover `json:"approvers"`
	Nodes      []wireNode     `json:"nodes"`
	Node       wireNode       `json:"node"`
	NodeID     string         `json:"node_id"`
	PublicKey  string         `json:"public_key"`
	Addresses  []string       `json:"addresses"`
	Endpoints  []string       `json:"endpoints"`
	Tags       []string       `json:"tags"`
	Routes     []string       `json:"routes"`
	Approver   wireApprover   `json:"approver"`
	ApproverID string         `json:"approver_id"`
	Policy     *wirePolicy    `json:"policy"`
	Recovery   *wireRecovery  `json:"recovery"`
	Choice     string         `json:"choice"`
	Sides      []wireEnvelope `json:"sides"`
}

type wireRecovery struct {
	Keys      []string `json:"keys"`
	Threshold uint64   `json:"threshold"`
}

type wirePolicy struct {
	Rules []wireRule `json:"rules"`
}

type wireRule struct {
	Context string   `json:"context"`
	Dst     []string `json:"dst"`
	Name    string   `json:"name"`
	Ports   []string `json:"ports"`
	Src     []string `json:"src"`
}

type wireBody struct {
	CreatedAt     int64         `json:"created_at"`
	Epoch         uint64        `json:"epoch"`
	ExpiresAt     int64         `json:"expires_at"`
	Kind          string        `json:"kind"`
	NetworkID     string        `json:"network_id"`
	NewStateRoot  string        `json:"new_state_root"`
	Operation     wireOperation `json:"operation"`
	PrevStateRoot string        `json:"prev_state_root"`
	SchemaVersion json.Number   `json:"schema_version"`
	UpdateID      string        `json:"update_id"`
}

// ParseBody decodes canonical body bytes of schema version 1 or 2. It fails
// with UNKNOWN_SCHEMA for another schema version, kind or operation type,
// with NON_CANONICAL if raw is not exactly the canonical encoding of what it
// decodes to (this one check rejects reordered keys, whitespace, duplicate
// or unknown keys and non-canonical spellings of values), and with
// ILLEGAL_OPERATION or LIMIT_EXCEEDED for values outside the schema.
func ParseBody(raw []byte, l *Limits) (Body, error) {
	return parseBody(raw, l, SchemaVersion)
}

// parseBody is ParseBody accepting schema versions 1 to maxVersion. A node
// of an older version is this code with a lower maxVersion: everything up
// to the version check is the same in every version (TestV1VerifierRefusesV2).
// It takes the fast path first (parseBodyFast) and answers by encoding/json
// (parseBodyStd) when that fails: the same answer for every input
// (fastJSON).
func parseBody(raw []byte, l *Limits, maxVersion uint64) (Body, error) {
	if b, err := parseBodyFast(raw, l, maxVersion); err == nil {
		return b, nil
	}
	return parseBodyStd(raw, l, maxVersion)
}

// parseBodyFast is parseBody decoding with the fast path (fastJSON) alone.
// Its errors are not the contract's: parseBody answers a body it refuses
// by parseBodyStd.
func parseBodyFast(raw []byte, l *Limits, maxVersion uint64) (Body, error) {
	l = limitsOrDefault(l)
	if len(raw) > l.MaxGenesisBytes || !utf8.Valid(raw) {
		return Body{}, errors.New("too long, or not UTF-8")
	}
	var w wireBody
	if err := jsonv2.Unmarshal(raw, &w, fastJSON); err != nil {
		return Body{}, err
	}
	return bodyFromWire(&w, raw, l, maxVersion)
}

// parseBodyStd is parseBody decoding with encoding/json alone: the answer
// parseBody gives for every body, and the errors it gives.
func parseBodyStd(raw []byte, l *Limits, maxVersion uint64) (Body, error) {
	l = limitsOrDefault(l)
	if len(raw) > l.MaxGenesisBytes {
		return Body{}, errorf(LimitExceeded, "update body is %d bytes, more than any update may be (%d)", len(raw), l.MaxGenesisBytes)
	}
	if !utf8.Valid(raw) {
		return Body{}, errorf(NonCanonical, "update body is not valid UTF-8")
	}
	// One decoding of the whole body on the success path. Only if that
	// fails does classifyBody decode the two members that say which error
	// it is, so every input gets the code and message it would if they
	// were always read first.
	var w wireBody
	if err := json.Unmarshal(raw, &w); err != nil {
		return Body{}, classifyBody(raw, maxVersion, err)
	}
	return bodyFromWire(&w, raw, l, maxVersion)
}

// bodyFromWire converts the decoded body w and checks that raw is its
// canonical encoding.
func bodyFromWire(w *wireBody, raw []byte, l *Limits, maxVersion uint64) (Body, error) {
	version, err := checkRecordType(w.SchemaVersion, w.Kind, maxVersion)
	if err != nil {
		return Body{}, err
	}
	b, err := w.convert(l, version)
	if err != nil {
		return Body{}, err
	}
	if !bytes.Equal(EncodeBody(&b), raw) {
		return Body{}, errorf(NonCanonical, "update body is not in canonical form (RFC 8785 JSON with exactly the schema's fields)")
	}
	return b, nil
}

// fastJSON are the options of the fast path: the encoding/json/v2 engine
// (github.com/go-json-experiment/json, which Go 1.27 ships as
// encoding/json/v2) decodes a set_policy of 1,000 rules in half the time
// encoding/json takes. It is a path to acceptance only, never to a
// refusal: what it decodes is taken only when the whole parse passes, the
// canonical re-encoding equal to the input among it; on any failure the
// input is parsed again with encoding/json alone, whose answer stands. A
// canonical encoding decodes to the same body under both decoders, so this
// changes no answer; FuzzParseBody and FuzzParseSignedUpdate compare the
// two on every input. The v2 engine is the stricter (names match exactly,
// no duplicate names, valid UTF-8, here no unknown members); the one type
// it decodes differently is encoding/json's Number, given here as the
// number's text.
var fastJSON = jsonv2.JoinOptions(jsonv2.RejectUnknownMembers(true), jsonv2.WithUnmarshalers(jsonv2.UnmarshalFromFunc(func(dec *jsontext.Decoder, n *json.Number) error {
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	if v.Kind() != '0' {
		return fmt.Errorf("%s is not a JSON number", v.Kind())
	}
	*n = json.Number(v)
	return nil
})))

// classifyBody returns the error of a body that does not decode into
// wireBody (err): NON_CANONICAL if it is not a JSON object, UNKNOWN_SCHEMA
// if its schema_version or kind (read first, whatever else is wrong) is
// not supported, else NON_CANONICAL for err.
func classifyBody(raw []byte, maxVersion uint64, err error) error {
	var peek struct {
		SchemaVersion json.Number `json:"schema_version"`
		Kind          string      `json:"kind"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&peek); err != nil {
		return errorf(NonCanonical, "update body is not a JSON object: %s", jsonProblem(err))
	}
	if _, err := checkRecordType(peek.SchemaVersion, peek.Kind, maxVersion); err != nil {
		return err
	}
	return errorf(NonCanonical, "update body does not match the schema: %s", jsonProblem(err))
}

// checkRecordType returns the schema version a body's schema_version and
// kind name, or UNKNOWN_SCHEMA if it is not 1 to maxVersion or the kind
// is not an update.
func checkRecordType(schemaVersion json.Number, kind string, maxVersion uint64) (uint64, error) {
	version, ok := schemaVersions[schemaVersion]
	if !ok || version > maxVersion {
		return 0, errorf(UnknownSchema, "schema_version %q is not supported (want 1 to %d)", schemaVersion, maxVersion)
	}
	if kind != UpdateKind {
		return 0, errorf(UnknownSchema, "record kind %q is not %q", kind, UpdateKind)
	}
	return version, nil
}

// schemaVersions maps the one spelling of each schema version to it.
var schemaVersions = map[json.Number]uint64{"1": 1, "2": 2, "3": 3, "4": 4}

func (w *wireBody) convert(l *Limits, version uint64) (Body, error) {
	b := Body{SchemaVersion: version}
	var err error
	if !validID(w.NetworkID) {
		return b, errorf(IllegalOperation, "network id %q is not 1-63 characters of [a-z0-9._-]", w.NetworkID)
	}
	b.NetworkID = w.NetworkID
	b.Epoch = w.Epoch
	if w.Epoch > maxSafeInt || w.CreatedAt < 0 || w.CreatedAt > maxSafeInt || w.ExpiresAt < 0 || w.ExpiresAt > maxSafeInt || w.Operation.Threshold > maxSafeInt ||
		w.Operation.Recovery != nil && w.Operation.Recovery.Threshold > maxSafeInt {
		return b, errorf(NonCanonical, "epoch, times and threshold must be integers from 0 to 2^53-1")
	}
	b.CreatedAt, b.ExpiresAt = w.CreatedAt, w.ExpiresAt
	if b.PrevStateRoot, err = ParseHash(w.PrevStateRoot); err != nil {
		return b, err
	}
	if b.NewStateRoot, err = ParseHash(w.NewStateRoot); err != nil {
		return b, err
	}
	if len(w.UpdateID) != 32 {
		return b, errorf(NonCanonical, "update_id must be 32 lower-case hex digits (128 bits)")
	}
	if _, err := hex.Decode(b.UpdateID[:], []byte(w.UpdateID)); err != nil {
		return b, errorf(NonCanonical, "update_id must be 32 lower-case hex digits (128 bits)")
	}
	b.Operation, err = w.Operation.convert(l, version)
	return b, err
}

func (w *wireOperation) convert(l *Limits, version uint64) (Operation, error) {
	op := Operation{Type: OpType(w.Type)}
	var err error
	if op.Type == OpSetPolicy && version < 2 {
		return op, errorf(UnknownSchema, "operation type %q needs schema version 2", w.Type)
	}
	if (op.Type == OpSetRecovery || op.Type == OpRecover) && version < 3 {
		return op, errorf(UnknownSchema, "operation type %q needs schema version 3", w.Type)
	}
	if op.Type == OpResolveFork && version < 4 {
		return op, errorf(UnknownSchema, "operation type %q needs schema version 4", w.Type)
	}
	if version == 4 && op.Type != OpResolveFork {
		return op, errorf(UnknownSchema, "a schema 4 record carries only resolve_fork, not %q", w.Type)
	}
	switch op.Type {
	case OpGenesis:
		op.Threshold = w.Threshold
		if len(w.Approvers) > l.MaxApprovers {
			return op, errorf(LimitExceeded, "genesis: %d approvers exceed the limit of %d", len(w.Approvers), l.MaxApprovers)
		}
		if len(w.Nodes) > l.MaxNodes {
			return op, errorf(LimitExceeded, "genesis: %d nodes exceed the limit of %d", len(w.Nodes), l.MaxNodes)
		}
		op.Approvers = make([]Approver, len(w.Approvers))
		for i := range w.Approvers {
			if op.Approvers[i], err = w.Approvers[i].convert(); err != nil {
				return op, err
			}
		}
		op.Nodes = make([]Node, len(w.Nodes))
		for i := range w.Nodes {
			if op.Nodes[i], err = w.Nodes[i].convert(); err != nil {
				return op, err
			}
		}
		if version >= 2 {
			op.Policy, err = w.Policy.convert(l)
		}
		if err == nil && version >= 3 && w.Recovery != nil {
			op.Recovery, err = w.Recovery.convert(l)
		}
	case OpAddNode:
		op.Node, err = w.Node.convert()
	case OpRemoveNode, OpRevokeNode, OpRestoreNode:
		op.NodeID = w.NodeID
	case OpRotateNodeKey:
		op.NodeID = w.NodeID
		op.PublicKey, err = ParseNodeKey(w.PublicKey)
	case OpUpdateNode:
		op.NodeID = w.NodeID
		op.Addresses, err = parsePrefixes(w.Addresses)
		if err == nil {
			op.Routes, err = parsePrefixes(w.Routes)
		}
		if err == nil {
			op.Endpoints, err = parseAddrPorts(w.Endpoints)
		}
		op.Tags = nonNil(w.Tags)
	case OpAddApprover:
		op.Approver, err = w.Approver.convert()
	case OpRemoveApprover:
		op.ApproverID = w.ApproverID
	case OpSetThreshold:
		op.Threshold = w.Threshold
	case OpSetPolicy:
		op.Policy, err = w.Policy.convert(l)
	case OpSetRecovery:
		if w.Recovery == nil {
			return op, errorf(NonCanonical, "set_recovery carries no recovery set")
		}
		op.Recovery, err = w.Recovery.convert(l)
	case OpRecover:
		op.Threshold = w.Threshold
		if len(w.Approvers) > l.MaxApprovers {
			return op, errorf(LimitExceeded, "recover: %d approvers exceed the limit of %d", len(w.Approvers), l.MaxApprovers)
		}
		op.Approvers = make([]Approver, len(w.Approvers))
		for i := range w.Approvers {
			if op.Approvers[i], err = w.Approvers[i].convert(); err != nil {
				return op, err
			}
		}
	case OpResolveFork:
		op.Sides, op.Choice, err = convertSides(w, l, version)
	default:
		return op, errorf(UnknownSchema, "unknown operation type %q", w.Type)
	}
	return op, err
}

// convertSides decodes the sides and choice of a resolve_fork (§15): 2 to
// MaxForkSides signed updates, each in canonical form and of a schema
// version no newer than the record's, in ascending order of their update
// digests (so distinct); the choice is "" (none) or one of their digests.
// Whether the sides are a fork is checked on the state (checkSides).
func convertSides(w *wireOperation, l *Limits, version uint64) ([]*SignedUpdate, Hash, error) {
	var choice Hash
	if len(w.Sides) < 2 {
		return nil, choice, errorf(IllegalOperation, "resolve_fork: %d side(s); a fork has at least 2", len(w.Sides))
	}
	if len(w.Sides) > MaxForkSides {
		return nil, choice, errorf(LimitExceeded, "resolve_fork: %d sides exceed the limit of %d", len(w.Sides), MaxForkSides)
	}
	sides := make([]*SignedUpdate, len(w.Sides))
	for i := range w.Sides {
		u, err := fromWire(&w.Sides[i], l, version, parseBody)
		if err != nil {
			return nil, choice, prefixErr(err, "resolve_fork: side %d: ", i+1)
		}
		if i > 0 && bytes.Compare(digestOf(sides[i-1]).bytes(), digestOf(u).bytes()) >= 0 {
			return nil, choice, errorf(NonCanonical, "resolve_fork: the sides are not in ascending order of their update digests, or repeat one")
		}
		sides[i] = u
	}
	if w.Choice == "" {
		return sides, choice, nil
	}
	choice, err := ParseHash(w.Choice)
	if err != nil {
		return nil, choice, prefixErr(err, "resolve_fork: choice: ")
	}
	if !slices.ContainsFunc(sides, func(u *SignedUpdate) bool { return digestOf(u) == choice }) {
		return nil, choice, errorf(IllegalOperation, "resolve_fork: the choice %s is not the digest of one of its sides", choice)
	}
	return sides, choice, nil
}

func (w *wireRecovery) convert(l *Limits) (*Recovery, error) {
	if len(w.Keys) > l.MaxApprovers {
		return nil, errorf(LimitExceeded, "recovery: %d keys exceed the limit of %d", len(w.Keys), l.MaxApprovers)
	}
	r := &Recovery{Threshold: w.Threshold, Keys: make([]ApproverKey, len(w.Keys))}
	for i, s := range w.Keys {
		k, err := ParseApproverKey(s)
		if err != nil {
			return nil, prefixErr(err, "recovery key %d: ", i+1)
		}
		r.Keys[i] = k
	}
	return r, nil
}

func (w *wireNode) convert() (Node, error) {
	n := Node{ID: w.NodeID, Owner: w.Owner, Status: Status(w.Status), Tags: nonNil(w.Tags)}
	var err error
	if n.PublicKey, err = ParseNodeKey(w.PublicKey); err != nil {
		return n, err
	}
	if n.Addresses, err = parsePrefixes(w.Addresses); err != nil {
		return n, err
	}
	if n.Routes, err = parsePrefixes(w.Routes); err != nil {
		return n, err
	}
	n.Endpoints, err = parseAddrPorts(w.Endpoints)
	return n, err
}

func (w *wireApprover) convert() (Approver, error) {
	k, err := ParseApproverKey(w.PublicKey)
	return Approver{ID: w.ApproverID, PublicKey: k, Role: Role(w.Role)}, err
}

// convert converts a policy; a missing one (nil) is a policy without
// rules, which re-encodes visibly.
func (w *wirePolicy) convert(l *Limits) (*Policy, error) {
	if w == nil {
		return &Policy{Rules: []Rule{}}, nil
	}
	if len(w.Rules) > l.MaxPolicyRules {
		return nil, errorf(LimitExceeded, "policy has %d rules, the limit is %d", len(w.Rules), l.MaxPolicyRules)
	}
	p := &Policy{Rules: make([]Rule, len(w.Rules))}
	for i := range w.Rules {
		wr := &w.Rules[i]
		r := Rule{Name: wr.Name, Context: Context(wr.Context)}
		var err error
		if r.Src, err = parseSelectors(wr.Src); err == nil {
			if r.Dst, err = parseSelectors(wr.Dst); err == nil {
				r.Ports, err = parsePortSpecs(wr.Ports)
			}
		}
		if err != nil {
			return nil, prefixErr(err, "rule %q: ", wr.Name)
		}
		p.Rules[i] = r
	}
	return p, nil
}

func parseSelectors(ss []string) ([]Selector, error) {
	out := make([]Selector, len(ss))
	for i, s := range ss {
		var err error
		if out[i], err = ParseSelector(s); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func parsePortSpecs(ss []string) ([]PortSpec, error) {
	out := make([]PortSpec, len(ss))
	for i, s := range ss {
		var err error
		if out[i], err = ParsePortSpec(s); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ParsePolicy decodes a canonical policy document (the encoding doc
// §13.3) and validates it (ValidatePolicy). Like ParseBody, it refuses
// anything that is not exactly the canonical encoding of what it decodes to
// (NON_CANONICAL); whatever it accepts, EncodePolicy re-encodes to raw.
// l nil means DefaultLimits.
func ParsePolicy(raw []byte, l *Limits) (*Policy, error) {
	l = limitsOrDefault(l)
	if len(raw) > l.MaxPolicyBytes {
		return nil, errorf(LimitExceeded, "policy is %d bytes, the limit is %d", len(raw), l.MaxPolicyBytes)
	}
	if !utf8.Valid(raw) {
		return nil, errorf(NonCanonical, "policy is not valid UTF-8")
	}
	var w wirePolicy
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, errorf(NonCanonical, "policy does not match the schema: %s", jsonProblem(err))
	}
	p, err := w.convert(l)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(EncodePolicy(p), raw) {
		return nil, errorf(NonCanonical, "policy is not in canonical form (RFC 8785 JSON with exactly the schema's fields)")
	}
	if err := validatePolicy(p, raw, l); err != nil {
		return nil, err
	}
	return p, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func parsePrefixes(ss []string) ([]netip.Prefix, error) {
	ps := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, errorf(IllegalOperation, "%q is not an IP prefix", s)
		}
		ps[i] = p
	}
	return ps, nil
}

func parseAddrPorts(ss []string) ([]netip.AddrPort, error) {
	as := make([]netip.AddrPort, len(ss))
	for i, s := range ss {
		a, err := netip.ParseAddrPort(s)
		if err != nil {
			return nil, errorf(IllegalOperation, "%q is not an IP:port endpoint", s)
		}
		as[i] = a
	}
	return as, nil
}

// Envelope: the file form of a signed update. The body is embedded verbatim
// (its bytes are what is signed); the envelope around it is ordinary JSON.
type wireEnvelope struct {
	Body       json.RawMessage `json:"body"`
	Signatures []wireSignature `json:"signatures"`
}

type wireSignature struct {
	PublicKey string `json:"public_key"`
	Signature string `json:"signature"`
}

// ParseSignedUpdate decodes an update file: {"body": …, "signatures": […]}.
// Unknown envelope fields and trailing data are rejected (NON_CANONICAL);
// the body must pass ParseBody. It checks form only, not signatures.
func ParseSignedUpdate(data []byte, l *Limits) (*SignedUpdate, error) {
	return parseSignedUpdate(data, l, SchemaVersion)
}

// parseSignedUpdate is ParseSignedUpdate accepting schema versions 1 to
// maxVersion.
func parseSignedUpdate(data []byte, l *Limits, maxVersion uint64) (*SignedUpdate, error) {
	l = limitsOrDefault(l)
	if err := checkUpdateFile(data, l); err != nil {
		return nil, err
	}
	if u, err := parseSignedUpdateFast(data, l, maxVersion); err == nil {
		return u, nil
	}
	return parseSignedUpdateStd(data, l, maxVersion)
}

// checkUpdateFile refuses what is no update file before any decoding: too
// long, or not a JSON object.
func checkUpdateFile(data []byte, l *Limits) error {
	if len(data) > l.MaxGenesisBytes+l.MaxEnvelopeExtra {
		return errorf(LimitExceeded, "update file is %d bytes, more than any update may be", len(data))
	}
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return errorf(NonCanonical, "not a signed update file: want a JSON object")
	}
	return nil
}

// parseSignedUpdateFast is parseSignedUpdate after checkUpdateFile,
// through the fast path alone (fastJSON). Its errors are not the
// contract's: parseSignedUpdate answers an update it refuses by
// parseSignedUpdateStd.
func parseSignedUpdateFast(data []byte, l *Limits, maxVersion uint64) (*SignedUpdate, error) {
	if w, ok := splitAsEncoded(data); ok {
		return fromWire(&w, l, maxVersion, parseBodyFast)
	}
	var w wireEnvelope
	if err := jsonv2.Unmarshal(data, &w, fastJSON); err != nil {
		return nil, err
	}
	if err := checkEnvelopeKeys(data); err != nil {
		return nil, err
	}
	return fromWire(&w, l, maxVersion, parseBodyFast)
}

// Encode's layout of an update file, around the body and each signature;
// splitAsEncoded reads exactly this layout.
const (
	encodedStart   = "{\n  \"body\": "
	encodedSigs    = ",\n  \"signatures\": ["
	encodedSigKey  = "\n    {\"public_key\": \""
	encodedSigSig  = "\", \"signature\": \""
	encodedSigEnd  = "\"}"
	encodedSigsEnd = "\n  "
	encodedEnd     = "]\n}"
)

// splitAsEncoded splits an update file laid out exactly as Encode writes
// it (with or without its final newline) into its body and signatures
// without reading the body: the body is the bytes between the envelope's
// start and the last "signatures" member, and parsing it (parseBodyFast)
// refuses it unless it is exactly one object — so the split is the one a
// JSON decoding of the envelope makes, and the file holds no other
// member. Any other layout gives ok false (the envelope is then decoded
// as JSON). The signature strings are taken as they stand; fromWire
// checks them.
func splitAsEncoded(data []byte) (w wireEnvelope, ok bool) {
	rest, ok := bytes.CutPrefix(data, []byte(encodedStart))
	if !ok || len(rest) == 0 || rest[0] != '{' {
		return w, false
	}
	if rest, ok = bytes.CutSuffix(bytes.TrimSuffix(rest, []byte("\n")), []byte(encodedEnd)); !ok {
		return w, false
	}
	i := bytes.LastIndex(rest, []byte(encodedSigs))
	if i < 1 || rest[i-1] != '}' {
		return w, false
	}
	w.Body, rest = rest[:i], rest[i+len(encodedSigs):]
	if len(rest) == 0 {
		w.Signatures = []wireSignature{}
		return w, true
	}
	str := func(prefix string) (string, bool) {
		var ok bool
		if rest, ok = bytes.CutPrefix(rest, []byte(prefix)); !ok {
			return "", false
		}
		end := bytes.IndexFunc(rest, func(r rune) bool { return r == '"' || r == '\\' || r < ' ' || r >= utf8.RuneSelf })
		if end < 0 || rest[end] != '"' {
			return "", false
		}
		s := string(rest[:end])
		rest = rest[end:]
		return s, true
	}
	for {
		pub, ok := str(encodedSigKey)
		if !ok {
			return w, false
		}
		sig, ok := str(encodedSigSig)
		if !ok {
			return w, false
		}
		if rest, ok = bytes.CutPrefix(rest, []byte(encodedSigEnd)); !ok {
			return w, false
		}
		w.Signatures = append(w.Signatures, wireSignature{PublicKey: pub, Signature: sig})
		if string(rest) == encodedSigsEnd {
			return w, true
		}
		if rest, ok = bytes.CutPrefix(rest, []byte(",")); !ok {
			return w, false
		}
	}
}

// parseSignedUpdateStd is parseSignedUpdate after checkUpdateFile,
// decoding with encoding/json alone: the answer parseSignedUpdate gives
// for every update file, and the errors it gives.
func parseSignedUpdateStd(data []byte, l *Limits, maxVersion uint64) (*SignedUpdate, error) {
	// Decoding first reports malformed JSON and values of the wrong kind
	// by field and byte; checkEnvelopeKeys then refuses what decoding lets
	// through. Both must pass.
	var w wireEnvelope
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return nil, errorf(NonCanonical, "not a signed update file: %s", jsonProblem(err))
	}
	if dec.More() {
		return nil, errorf(NonCanonical, "trailing data after the signed update")
	}
	if err := checkEnvelopeKeys(data); err != nil {
		return nil, errorf(NonCanonical, "not a signed update file: %s", jsonProblem(err))
	}
	return fromWire(&w, l, maxVersion, parseBodyStd)
}

// fromWire converts a decoded update file, its body parsed by parseBody
// or one of its two paths.
func fromWire(w *wireEnvelope, l *Limits, maxVersion uint64, parseBody func([]byte, *Limits, uint64) (Body, error)) (*SignedUpdate, error) {
	if len(w.Body) == 0 {
		return nil, errorf(NonCanonical, "signed update has no body")
	}
	if len(w.Signatures) > l.maxSignatures() {
		return nil, errorf(LimitExceeded, "%d signatures exceed the limit of %d", len(w.Signatures), l.maxSignatures())
	}
	body, err := parseBody(w.Body, l, maxVersion)
	if err != nil {
		return nil, err
	}
	u := &SignedUpdate{raw: bytes.Clone(w.Body), Body: body}
	for _, ws := range w.Signatures {
		var s Signature
		k, err := ParseApproverKey(ws.PublicKey)
		if err != nil {
			return nil, errorf(UnknownSigner, "signature entry has an invalid public key %q", ws.PublicKey)
		}
		s.PublicKey = k
		sig, err := base64.StdEncoding.Strict().DecodeString(ws.Signature)
		if err != nil || len(sig) != len(s.Sig) {
			return nil, errorf(BadSignature, "signature of %s is not %d bytes of standard base64", k, len(s.Sig))
		}
		copy(s.Sig[:], sig)
		u.Signatures = append(u.Signatures, s)
	}
	return u, nil
}

// Encode returns the update file form: the canonical body embedded verbatim
// and one signature per line, for human review and diffing.
func (u *SignedUpdate) Encode() []byte {
	var b bytes.Buffer
	b.WriteString(encodedStart)
	b.Write(u.raw)
	b.WriteString(encodedSigs)
	for i, s := range u.Signatures {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(encodedSigKey)
		b.WriteString(s.PublicKey.String())
		b.WriteString(encodedSigSig)
		b.WriteString(base64.StdEncoding.EncodeToString(s.Sig[:]))
		b.WriteString(encodedSigEnd)
	}
	if len(u.Signatures) > 0 {
		b.WriteString(encodedSigsEnd)
	}
	b.WriteString(encodedEnd + "\n")
	return b.Bytes()
}

// jsonProblem says in plain words what encoding/json found wrong with
// input: the field holding the wrong kind of value, or the byte where the
// text stops being JSON. It never names a Go type: these messages reach
// the operator whose file it is.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		want := "want " + jsonKind(te.Type) + ", got " + jsonValue(te.Value)
		if te.Field == "" {
			return want
		}
		return "field " + te.Field + ": " + want
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d: %s", se.Offset, se)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "the JSON ends early"
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if strings.HasPrefix(msg, "invalid number literal") { // a string where json.Number wants a number
		return "want a number, got a string"
	}
	return msg
}

// jsonKind names the kind of JSON value a Go type decodes from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another kind of value"
	}
	if t == reflect.TypeFor[json.Number]() {
		return "a number"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "another kind of value"
}

// jsonValue names the JSON value encoding/json describes as v ("number",
// "number -1", "string", "bool", "array", "object").
func jsonValue(v string) string {
	kind, literal, _ := strings.Cut(v, " ")
	switch kind {
	case "number":
		kind = "a number"
	case "string":
		kind = "a string"
	case "bool":
		kind = "true or false"
	case "array":
		kind = "an array"
	case "object":
		kind = "an object"
	}
	if literal != "" {
		return kind + " (" + literal + ")"
	}
	return kind
}
