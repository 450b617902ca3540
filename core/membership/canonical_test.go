package membership_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// Golden step indexes used as bases of the decode tables.
const (
	stepGenesis = iota
	stepAddNode
	stepRevokeNode
	stepRestoreNode
	stepRotateNodeKey
	stepUpdateNode
	stepAddApprover
	stepSetThreshold
	stepRemoveApprover
	stepRemoveNode
)

// TestCanonicalKeyOrder checks that every record the engine emits is a
// fixed point of the independent RFC 8785 canonicaliser in jcs_test.go:
// members in sorted order, JCS string escaping, plain integers. It covers
// every operation type (the golden chain), strings with every character
// class the encoder escapes, and every operation with empty lists.
func TestCanonicalKeyOrder(t *testing.T) {
	type record struct {
		name string
		body membership.Body
	}
	var records []record
	for _, s := range goldenChain(t) {
		records = append(records, record{s.Name, s.Update.Body})
	}
	for _, s := range goldenChainV2(t) {
		records = append(records, record{"v2/" + s.Name, s.Update.Body})
	}

	// Every character class of JCS string escaping, in every string the
	// schema has (the schema only admits some of them; the encoder must
	// still encode all of them canonically, and decoding must round-trip).
	var ctrl strings.Builder
	for c := range 0x20 {
		ctrl.WriteByte(byte(c))
	}
	strs := map[string]string{
		"quotes and backslashes": `a "quoted" \ back\slash \" \\ "`,
		"control characters":     ctrl.String(),
		"DEL and non-ASCII":      "\x7f é € 😀 \u2028\u2029 \ufeff",
		"empty":                  "",
		"JSON lookalikes":        `{"node_id":"x"},\u0041/\/`,
	}
	base := goldenChain(t)[stepAddNode].Update.Body
	for name, s := range strs {
		b := base
		b.Operation.Node = b.Operation.Node.Clone()
		b.Operation.Node.Owner = s
		records = append(records, record{"add_node owner/" + name, b})
		g := goldenChain(t)[stepGenesis].Update.Body
		g.Operation.Nodes = []membership.Node{g.Operation.Nodes[0].Clone()}
		g.Operation.Nodes[0].Owner = s
		g.NetworkID = s
		g.Operation.Approvers = []membership.Approver{{ID: s, PublicKey: g.Operation.Approvers[0].PublicKey, Role: membership.Role(s)}}
		records = append(records, record{"genesis strings/" + name, g})
	}

	// Every operation type with empty lists and zero values.
	empty := membership.Node{ID: "n", Addresses: []netip.Prefix{}, Endpoints: []netip.AddrPort{}, Tags: []string{}, Routes: []netip.Prefix{}}
	for _, op := range []membership.Operation{
		{Type: membership.OpGenesis, Approvers: []membership.Approver{}, Nodes: []membership.Node{}},
		{Type: membership.OpGenesis, Approvers: []membership.Approver{{}}, Nodes: []membership.Node{empty}},
		{Type: membership.OpAddNode, Node: empty},
		{Type: membership.OpRemoveNode},
		{Type: membership.OpRevokeNode},
		{Type: membership.OpRestoreNode},
		{Type: membership.OpRotateNodeKey},
		{Type: membership.OpUpdateNode, Addresses: []netip.Prefix{}, Endpoints: []netip.AddrPort{}, Tags: []string{}, Routes: []netip.Prefix{}},
		{Type: membership.OpAddApprover},
		{Type: membership.OpRemoveApprover},
		{Type: membership.OpSetThreshold},
		{Type: membership.OpSetPolicy},
		{Type: membership.OpSetPolicy, Policy: &membership.Policy{Rules: []membership.Rule{{}}}},
		{Type: membership.OpGenesis, Approvers: []membership.Approver{}, Nodes: []membership.Node{}, Policy: &membership.Policy{}},
	} {
		records = append(records, record{"zero/" + string(op.Type), membership.Body{Operation: op}})
	}
	// A resolve_fork embeds whole signed updates (§15): with and without
	// a choice.
	{
		net, x, y := fork(t)
		for _, choice := range []membership.Hash{{}, x.Digest()} {
			r, err := membership.NewResolution(net.Chain.State(), []*membership.SignedUpdate{x, y}, choice, net.Proposal())
			if err != nil {
				t.Fatal(err)
			}
			net.Sign(t, r, "alice")
			records = append(records, record{"resolve_fork/" + choice.String()[:8], r.Body})
		}
	}
	// Largest integers the format admits.
	big := base
	big.Epoch, big.CreatedAt, big.ExpiresAt = 1<<53-1, 1<<53-1, 1<<53-1
	records = append(records, record{"integers 2^53-1", big})

	for _, r := range records {
		t.Run(r.name, func(t *testing.T) {
			got := membership.EncodeBody(&r.body)
			want, err := jcs(got)
			if err != nil {
				t.Fatalf("the engine's encoding is not valid I-JSON: %v\n%s", err, got)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("not an RFC 8785 fixed point:\n got %s\nwant %s", got, want)
			}
			if !bytes.Equal(membership.EncodeBody(&r.body), got) {
				t.Errorf("encoding is not deterministic")
			}
			// Decoding what the encoder emits must give the same record
			// back, where the values parse (zero keys and hashes do not).
			parsed, err := membership.ParseBody(got, nil)
			if err != nil {
				return
			}
			if again := membership.EncodeBody(&parsed); !bytes.Equal(again, got) {
				t.Errorf("decode then encode:\n got %s\nwant %s", again, got)
			}
			if diff := cmp.Diff(r.body.Operation.Node.Owner, parsed.Operation.Node.Owner); diff != "" {
				t.Errorf("owner round trip (-want +got):\n%s", diff)
			}
		})
	}

	// The update file and log file embed the body verbatim and are JSON.
	for _, s := range goldenChain(t) {
		var env struct {
			Body json.RawMessage `json:"body"`
		}
		if err := json.Unmarshal(s.Update.Encode(), &env); err != nil || !bytes.Equal(env.Body, s.Update.BodyBytes()) {
			t.Errorf("%s: update file does not embed the body verbatim (err %v)", s.Name, err)
		}
	}
}

// flipPadBits returns the base64 key k with its unused low bits set, a
// spelling that lenient decoders map to the same 32 bytes.
func flipPadBits(k string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	i := strings.IndexByte(alphabet, k[42])
	return k[:42] + string(alphabet[i^1]) + k[43:]
}

// flipSigPadBits sets an unused low bit of a base64 Ed25519 signature.
func flipSigPadBits(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	i := strings.IndexByte(alphabet, s[85])
	return s[:85] + string(alphabet[i^1]) + s[86:]
}

// decodeCase mutates the body of a golden step and expects a code from
// ParseBody or, if the mutated body parses, from Evaluate against the
// step's pre-state (re-signed by the step's signers, so only the mutation
// can be the cause).
type decodeCase struct {
	name     string
	step     int
	old, new string                   // replace exactly one occurrence of old by new
	edit     func(string) string      // or edit the whole body
	code     membership.Code          // expected
	limits   func(*membership.Limits) // optional test limits
}

func (c decodeCase) apply(tb testing.TB, body string) []byte {
	tb.Helper()
	if c.edit != nil {
		return []byte(c.edit(body))
	}
	if n := strings.Count(body, c.old); n != 1 {
		tb.Fatalf("mutation: %q occurs %d times in the base body, want exactly once", c.old, n)
	}
	return []byte(strings.Replace(body, c.old, c.new, 1))
}

// verdict returns the first refusal of raw as the body of golden step i.
func verdict(tb testing.TB, steps []goldenStep, i int, raw []byte, l *membership.Limits) (stage string, err error) {
	tb.Helper()
	if _, err := membership.ParseBody(raw, l); err != nil {
		// The same code must come out of every entry point (whitespace
		// around the body belongs to the envelope there, where it is free).
		if len(bytes.TrimSpace(raw)) != len(raw) {
			return "parse", err
		}
		_, err2 := membership.ParseSignedUpdate(envelope(raw), l)
		_, err3 := membership.ParseLog(append(append([]byte("["), envelope(raw)...), ']'), l)
		if membership.CodeOf(err2) != membership.CodeOf(err) || membership.CodeOf(err3) != membership.CodeOf(err) {
			tb.Errorf("ParseBody says %v, ParseSignedUpdate says %v, ParseLog says %v: want one code", err, err2, err3)
		}
		return "parse", err
	}
	u, err := membership.ParseSignedUpdate(envelope(raw), l)
	if err != nil {
		tb.Fatalf("ParseBody accepted what ParseSignedUpdate refuses: %v", err)
	}
	for _, id := range steps[i].Signers {
		if err := u.Sign(membershiptest.NewApprover(id, "").Private); err != nil {
			tb.Fatal(err)
		}
	}
	pre := membership.Empty(steps[0].Update.Body.NetworkID)
	if i > 0 {
		pre = steps[i-1].Post
	}
	_, err = membership.Evaluate(pre, u, membership.Options{Now: time.Unix(u.Body.CreatedAt, 0), Limits: l})
	return "evaluate", err
}

// TestDecodeNegative is the table of malformed bodies: every way a body can
// differ from the canonical encoding of a schema-valid record, with the
// exact code each gets.
func TestDecodeNegative(t *testing.T) {
	steps := goldenChain(t)
	nodeKey := steps[stepAddNode].Update.Body.Operation.Node.PublicKey.String()
	daveKey := steps[stepAddApprover].Update.Body.Operation.Approver.PublicKey.String()
	const (
		nc  = membership.NonCanonical
		us  = membership.UnknownSchema
		ill = membership.IllegalOperation
		lim = membership.LimitExceeded
	)
	cases := []decodeCase{
		// Layout: order, whitespace, duplicates.
		{name: "reordered top-level keys", step: stepAddNode, old: `"created_at":1767225660,"epoch":2,`, new: `"epoch":2,"created_at":1767225660,`, code: nc},
		{name: "reordered node keys", step: stepAddNode, old: `"addresses":["100.64.0.3/32","fd7a:115c:a1e0::3/128"],"endpoints":[],`, new: `"endpoints":[],"addresses":["100.64.0.3/32","fd7a:115c:a1e0::3/128"],`, code: nc},
		{name: "reordered operation keys", step: stepAddNode, edit: func(s string) string {
			i, j := strings.Index(s, `{"node":`), strings.Index(s, `,"type":"add_node"}`)
			return s[:i] + `{"type":"add_node","node":` + s[i+len(`{"node":`):j] + "}" + s[j+len(`,"type":"add_node"}`):]
		}, code: nc},
		{name: "space after colon", step: stepAddNode, old: `"epoch":2`, new: `"epoch": 2`, code: nc},
		{name: "space after comma", step: stepAddNode, old: `"epoch":2,`, new: `"epoch":2, `, code: nc},
		{name: "leading space", step: stepAddNode, edit: func(s string) string { return " " + s }, code: nc},
		{name: "trailing newline", step: stepAddNode, edit: func(s string) string { return s + "\n" }, code: nc},
		{name: "byte order mark", step: stepAddNode, edit: func(s string) string { return "\ufeff" + s }, code: nc},
		{name: "pretty printed", step: stepAddNode, edit: func(s string) string {
			var b bytes.Buffer
			if err := json.Indent(&b, []byte(s), "", "  "); err != nil {
				panic(err)
			}
			return b.String()
		}, code: nc},
		{name: "duplicate key same value", step: stepAddNode, old: `"epoch":2,`, new: `"epoch":2,"epoch":2,`, code: nc},
		{name: "duplicate key other value", step: stepAddNode, old: `"epoch":2,`, new: `"epoch":1,"epoch":2,`, code: nc},
		{name: "duplicate node key", step: stepAddNode, old: `"status":"active"`, new: `"status":"active","status":"active"`, code: nc},
		{name: "trailing data", step: stepAddNode, edit: func(s string) string { return s + "{}" }, code: nc},

		// Fields: unknown, missing, wrong case, wrong type.
		{name: "unknown top-level field", step: stepAddNode, old: `"kind":`, new: `"extra":"x","kind":`, code: nc},
		{name: "unknown operation field", step: stepAddNode, old: `,"type":"add_node"`, new: `,"note":"x","type":"add_node"`, code: nc},
		{name: "unknown node field", step: stepAddNode, old: `"endpoints":[],`, new: `"endpoints":[],"mtu":1280,`, code: nc},
		{name: "field of another operation", step: stepAddNode, old: `,"type":"add_node"`, new: `,"threshold":2,"type":"add_node"`, code: nc},
		{name: "field of another operation, zero valued", step: stepRemoveNode, old: `{"node_id":"srv-db_01",`, new: `{"approver_id":"","node_id":"srv-db_01",`, code: nc},
		{name: "missing created_at", step: stepAddNode, old: `"created_at":1767225660,`, new: ``, code: nc},
		{name: "missing new_state_root", step: stepAddNode, old: `"new_state_root":"347caf3ce533d44e3d75cc97cbd9a6bdce484371c6b07ea9f8d35d79e4209a68",`, new: ``, code: nc},
		{name: "missing update_id", step: stepAddNode, old: `,"update_id":"72e329e3841bcd97eef7e063c652b43a"`, new: ``, code: nc},
		{name: "missing node endpoints", step: stepAddNode, old: `"endpoints":[],`, new: ``, code: nc},
		{name: "missing node owner", step: stepAddNode, old: `"owner":"C:\\srv\\db \"primary\"",`, new: ``, code: nc},
		{name: "missing node tags", step: stepAddNode, old: `,"tags":["db"]`, new: ``, code: nc},
		{name: "null node tags", step: stepAddNode, old: `"tags":["db"]`, new: `"tags":null`, code: nc},
		{name: "null addresses", step: stepAddNode, old: `"addresses":["100.64.0.3/32","fd7a:115c:a1e0::3/128"]`, new: `"addresses":null`, code: nc},
		{name: "missing node public_key", step: stepAddNode, old: `"public_key":"` + nodeKey + `",`, new: ``, code: ill},
		{name: "missing network_id", step: stepAddNode, old: `"network_id":"golden-net",`, new: ``, code: ill},
		{name: "missing schema_version", step: stepAddNode, old: `"schema_version":1,`, new: ``, code: us},
		{name: "missing kind", step: stepAddNode, old: `"kind":"rustynet.membership.update",`, new: ``, code: us},
		{name: "missing operation", step: stepRemoveNode, old: `"operation":{"node_id":"srv-db_01","type":"remove_node"},`, new: ``, code: us},
		{name: "missing operation type", step: stepRemoveNode, old: `,"type":"remove_node"`, new: ``, code: us},
		{name: "wrong-case key", step: stepAddNode, old: `"epoch":2`, new: `"Epoch":2`, code: nc},
		{name: "wrong-case node key", step: stepAddNode, old: `"node_id":"srv-db_01"`, new: `"NODE_ID":"srv-db_01"`, code: nc},
		{name: "node as array", step: stepAddNode, edit: func(s string) string {
			return strings.Replace(strings.Replace(s, `{"node":{`, `{"node":[{`, 1), `},"type":"add_node"`, `}],"type":"add_node"`, 1)
		}, code: nc},
		{name: "not an object", step: stepAddNode, edit: func(string) string { return `[]` }, code: nc},
		{name: "empty", step: stepAddNode, edit: func(string) string { return `` }, code: nc},
		{name: "null", step: stepAddNode, edit: func(string) string { return `null` }, code: us},

		// Integers.
		{name: "float epoch", step: stepAddNode, old: `"epoch":2,`, new: `"epoch":2.0,`, code: nc},
		{name: "exponent epoch", step: stepAddNode, old: `"epoch":2,`, new: `"epoch":2e0,`, code: nc},
		{name: "string epoch", step: stepAddNode, old: `"epoch":2,`, new: `"epoch":"2",`, code: nc},
		{name: "leading zero epoch", step: stepAddNode, old: `"epoch":2,`, new: `"epoch":02,`, code: nc},
		{name: "negative epoch", step: stepAddNode, old: `"epoch":2,`, new: `"epoch":-2,`, code: nc},
		{name: "negative created_at", step: stepAddNode, old: `"created_at":1767225660,`, new: `"created_at":-1,`, code: nc},
		{name: "negative zero created_at", step: stepAddNode, old: `"created_at":1767225660,`, new: `"created_at":-0,`, code: nc},
		{name: "epoch 2^53", step: stepAddNode, old: `"epoch":2,`, new: `"epoch":9007199254740992,`, code: nc},
		{name: "epoch 2^64", step: stepAddNode, old: `"epoch":2,`, new: `"epoch":18446744073709551616,`, code: nc},
		{name: "created_at 2^53", step: stepAddNode, old: `"created_at":1767225660,`, new: `"created_at":9007199254740992,`, code: nc},
		{name: "expires_at 2^53", step: stepAddNode, old: `"expires_at":1767229260,`, new: `"expires_at":9007199254740992,`, code: nc},
		{name: "threshold 2^53", step: stepSetThreshold, old: `"threshold":3,`, new: `"threshold":9007199254740992,`, code: nc},
		{name: "threshold negative", step: stepSetThreshold, old: `"threshold":3,`, new: `"threshold":-3,`, code: nc},
		{name: "epoch 2^53-1 parses (then is ahead of the state)", step: stepAddNode, old: `"epoch":2,`, new: `"epoch":9007199254740991,`, code: membership.FutureEpoch},
		{name: "threshold 2^53-1 parses (then is refused)", step: stepSetThreshold, old: `"threshold":3,`, new: `"threshold":9007199254740991,`, code: membership.BadThreshold},

		// Hex, base64, addresses.
		{name: "upper-case hex prev_state_root", step: stepAddNode, old: `"prev_state_root":"5f4ef2de9b`, new: `"prev_state_root":"5F4EF2DE9B`, code: nc},
		{name: "upper-case hex new_state_root", step: stepAddNode, old: `"new_state_root":"347caf3ce`, new: `"new_state_root":"347CAF3CE`, code: nc},
		{name: "short state root", step: stepAddNode, old: `"new_state_root":"347caf3ce`, new: `"new_state_root":"47caf3ce`, code: nc},
		{name: "upper-case hex update_id", step: stepAddNode, old: `"update_id":"72e329e3841bcd97eef7e063c652b43a"`, new: `"update_id":"72E329E3841BCD97EEF7E063C652B43A"`, code: nc},
		{name: "short update_id", step: stepAddNode, old: `"update_id":"72e329e3841bcd97eef7e063c652b43a"`, new: `"update_id":"72e329e3841bcd97eef7e063c652b4"`, code: nc},
		{name: "non-hex update_id", step: stepAddNode, old: `"update_id":"72e329e3841bcd97eef7e063c652b43a"`, new: `"update_id":"72e329e3841bcd97eef7e063c652b43g"`, code: nc},
		{name: "non-canonical base64 node key (padding bits)", step: stepAddNode, old: nodeKey, new: flipPadBits(nodeKey), code: nc},
		{name: "unpadded base64 node key", step: stepAddNode, old: nodeKey, new: strings.TrimSuffix(nodeKey, "="), code: nc},
		{name: "non-canonical base64 rotated key", step: stepRotateNodeKey, old: `"PNuI76LI9MbwSc1fmvqWzX+iHJKNkwdYDBMdQ52zBA8="`, new: `"` + flipPadBits("PNuI76LI9MbwSc1fmvqWzX+iHJKNkwdYDBMdQ52zBA8=") + `"`, code: nc},
		{name: "non-canonical base64 approver key", step: stepAddApprover, old: daveKey, new: flipPadBits(daveKey), code: nc},
		{name: "url-safe base64 node key", step: stepAddNode, old: nodeKey, new: strings.NewReplacer("+", "-", "/", "_").Replace(nodeKey), code: ill},
		{name: "31-byte node key", step: stepAddNode, old: nodeKey, new: base64.StdEncoding.EncodeToString(make([]byte, 31)), code: ill},
		{name: "all-zero node key", step: stepAddNode, old: nodeKey, new: base64.StdEncoding.EncodeToString(make([]byte, 32)), code: ill},
		{name: "IPv6 not compressed", step: stepAddNode, old: `"fd7a:115c:a1e0::3/128"`, new: `"fd7a:115c:a1e0:0:0:0:0:3/128"`, code: nc},
		{name: "IPv6 upper case", step: stepAddNode, old: `"fd7a:115c:a1e0::3/128"`, new: `"FD7A:115C:A1E0::3/128"`, code: nc},
		{name: "IPv6 leading zeros", step: stepAddNode, old: `"fd7a:115c:a1e0::3/128"`, new: `"fd7a:115c:a1e0::0003/128"`, code: nc},
		{name: "IPv6 endpoint not compressed", step: stepGenesis, old: `"[2001:db8::7]:51820"`, new: `"[2001:db8:0:0:0:0:0:7]:51820"`, code: nc},
		{name: "IPv4 leading zeros", step: stepAddNode, old: `"100.64.0.3/32"`, new: `"100.64.0.03/32"`, code: ill},
		{name: "prefix length with leading zero", step: stepUpdateNode, old: `"192.168.10.0/24"`, new: `"192.168.10.0/024"`, code: ill},
		{name: "endpoint without port", step: stepUpdateNode, old: `"203.0.113.9:41641"`, new: `"203.0.113.9"`, code: ill},
		{name: "IPv4-mapped IPv6 address", step: stepAddNode, old: `"fd7a:115c:a1e0::3/128"`, new: `"::ffff:100.64.0.9/128"`, code: ill},

		// Lists: order is part of the canonical form (checked by the reducer).
		{name: "non-sorted tags", step: stepUpdateNode, old: `["db","router"]`, new: `["router","db"]`, code: nc},
		{name: "duplicate tags", step: stepUpdateNode, old: `["db","router"]`, new: `["db","db"]`, code: nc},
		{name: "non-sorted addresses", step: stepAddNode, old: `["100.64.0.3/32","fd7a:115c:a1e0::3/128"]`, new: `["fd7a:115c:a1e0::3/128","100.64.0.3/32"]`, code: nc},
		{name: "duplicate addresses", step: stepAddNode, old: `["100.64.0.3/32","fd7a:115c:a1e0::3/128"]`, new: `["100.64.0.3/32","100.64.0.3/32"]`, code: nc},
		{name: "non-sorted routes", step: stepGenesis, old: `["0.0.0.0/0","10.20.0.0/16","::/0"]`, new: `["10.20.0.0/16","0.0.0.0/0","::/0"]`, code: nc},
		{name: "non-sorted endpoints", step: stepGenesis, old: `["198.51.100.7:51820","[2001:db8::7]:51820"]`, new: `["[2001:db8::7]:51820","198.51.100.7:51820"]`, code: nc},
		{name: "genesis approvers not sorted", step: stepGenesis, edit: func(s string) string {
			i := strings.Index(s, `{"approver_id":"alice"`)
			j := strings.Index(s, `{"approver_id":"bob"`)
			k := strings.Index(s, `{"approver_id":"carol"`)
			return s[:i] + s[j:k] + s[i:j] + s[k:]
		}, code: nc},

		// Strings.
		{name: "invalid UTF-8", step: stepAddNode, old: `"C:\\srv`, new: "\"C:\xff\\\\srv", code: nc},
		{name: "escaped letter", step: stepAddNode, old: `"C:\\srv`, new: `"\u0043:\\srv`, code: nc},
		{name: "escaped solidus", step: stepAddNode, old: `"C:\\srv`, new: `"C:\/\\srv`, code: nc},
		{name: "upper-case unicode escape", step: stepAddNode, old: `"C:\\srv`, new: `"C:\u001F\\srv`, code: nc},
		{name: "lone surrogate", step: stepAddNode, old: `"C:\\srv`, new: `"C:\ud800\\srv`, code: nc},
		{name: "escaped U+2028", step: stepAddNode, old: `"C:\\srv`, new: `"C:\u2028\\srv`, code: nc},
		{name: "canonical control character parses (then is refused)", step: stepAddNode, old: `"C:\\srv`, new: `"C:\u001f\\srv`, code: ill},
		{name: "long form of \\n", step: stepAddNode, old: `"C:\\srv`, new: `"C:\u000a\\srv`, code: nc},
		{name: "upper-case network id", step: stepAddNode, old: `"network_id":"golden-net"`, new: `"network_id":"Golden-net"`, code: ill},

		// Versions and kinds.
		{name: "schema_version 2 on a state without a policy", step: stepAddNode, old: `"schema_version":1,`, new: `"schema_version":2,`, code: ill},
		{name: "schema_version 3 on a state without recovery keys", step: stepAddNode, old: `"schema_version":1,`, new: `"schema_version":3,`, code: ill},
		{name: "schema_version 4 for add_node", step: stepAddNode, old: `"schema_version":1,`, new: `"schema_version":4,`, code: us},
		{name: "schema_version 5", step: stepAddNode, old: `"schema_version":1,`, new: `"schema_version":5,`, code: us},
		{name: "recovery member in a v1 genesis", step: stepGenesis, old: `],"threshold":2,"type":"genesis"`, new: `],"recovery":{"keys":[],"threshold":1},"threshold":2,"type":"genesis"`, code: nc},
		{name: "set_recovery in a v1 record", step: stepRemoveNode, old: `{"node_id":"srv-db_01","type":"remove_node"}`, new: `{"recovery":{"keys":[],"threshold":1},"type":"set_recovery"}`, code: us},
		{name: "recover in a v1 record", step: stepRemoveNode, old: `{"node_id":"srv-db_01","type":"remove_node"}`, new: `{"approvers":[],"threshold":1,"type":"recover"}`, code: us},
		{name: "schema_version 2.0", step: stepAddNode, old: `"schema_version":1,`, new: `"schema_version":2.0,`, code: us},
		{name: "policy member in a v1 genesis", step: stepGenesis, old: `],"threshold":2,"type":"genesis"`, new: `],"policy":{"rules":[]},"threshold":2,"type":"genesis"`, code: nc},
		{name: "set_policy in a v1 record", step: stepRemoveNode, old: `{"node_id":"srv-db_01","type":"remove_node"}`, new: `{"policy":{"rules":[]},"type":"set_policy"}`, code: us},
		{name: "schema_version 0", step: stepAddNode, old: `"schema_version":1,`, new: `"schema_version":0,`, code: us},
		{name: "schema_version 1.0", step: stepAddNode, old: `"schema_version":1,`, new: `"schema_version":1.0,`, code: us},
		{name: "schema_version as string", step: stepAddNode, old: `"schema_version":1,`, new: `"schema_version":"1",`, code: nc},
		{name: "other kind", step: stepAddNode, old: `"kind":"rustynet.membership.update"`, new: `"kind":"rustynet.membership.snapshot"`, code: us},
		{name: "unknown operation type", step: stepRemoveNode, old: `"type":"remove_node"`, new: `"type":"purge_node"`, code: us},
		{name: "upper-case operation type", step: stepRemoveNode, old: `"type":"remove_node"`, new: `"type":"REMOVE_NODE"`, code: us},

		// Limits at parse time.
		{name: "body over the parse limit", step: stepAddNode, limits: func(l *membership.Limits) { l.MaxGenesisBytes = 200 }, edit: func(s string) string { return s }, code: lim},
		{name: "genesis with too many approvers", step: stepGenesis, limits: func(l *membership.Limits) { l.MaxApprovers = 2 }, edit: func(s string) string { return s }, code: lim},
		{name: "genesis with too many nodes", step: stepGenesis, limits: func(l *membership.Limits) { l.MaxNodes = 1 }, edit: func(s string) string { return s }, code: lim},
		{name: "update body over MaxUpdateBytes", step: stepAddNode, limits: func(l *membership.Limits) { l.MaxUpdateBytes = 200 }, edit: func(s string) string { return s }, code: lim},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var l *membership.Limits
			if c.limits != nil {
				d := membership.DefaultLimits()
				c.limits(&d)
				l = &d
			}
			raw := c.apply(t, string(steps[c.step].Update.BodyBytes()))
			stage, err := verdict(t, steps, c.step, raw, l)
			if got := membership.CodeOf(err); got != c.code {
				t.Fatalf("%s: got %v (code %q), want code %s\nbody: %s", stage, err, got, c.code, raw)
			}
		})
	}
}

// TestParseSignedUpdateNegative is the table of malformed update files.
func TestParseSignedUpdateNegative(t *testing.T) {
	steps := goldenChain(t)
	u := steps[stepAddNode].Update
	body := string(u.BodyBytes())
	sig := sigsOf(u)[0]
	sigJSON := fmt.Sprintf(`{"public_key":%q,"signature":%q}`, sig.PublicKey, sig.Signature)
	many := make([]string, membership.DefaultLimits().MaxApprovers+2)
	for i := range many {
		many[i] = sigJSON
	}
	shortSig := base64.StdEncoding.EncodeToString(u.Signatures[0].Sig[:63])
	cases := []struct {
		name string
		file string
		code membership.Code
	}{
		{"unknown envelope field", `{"body":` + body + `,"signatures":[],"comment":"x"}`, membership.NonCanonical},
		{"duplicate body", `{"body":` + body + `,"body":` + body + `,"signatures":[]}`, membership.NonCanonical},
		{"duplicate signatures", `{"body":` + body + `,"signatures":[],"signatures":[` + sigJSON + `]}`, membership.NonCanonical},
		{"wrong-case body key", `{"Body":` + body + `,"signatures":[]}`, membership.NonCanonical},
		{"wrong-case signatures key", `{"body":` + body + `,"SIGNATURES":[]}`, membership.NonCanonical},
		{"wrong-case signature entry key", `{"body":` + body + `,"signatures":[{"Public_Key":"` + sig.PublicKey + `","signature":"` + sig.Signature + `"}]}`, membership.NonCanonical},
		{"duplicate signature entry key", `{"body":` + body + `,"signatures":[{"public_key":"` + sig.PublicKey + `","signature":"` + sig.Signature + `","signature":"` + sig.Signature + `"}]}`, membership.NonCanonical},
		{"unknown signature entry field", `{"body":` + body + `,"signatures":[{"public_key":"` + sig.PublicKey + `","signature":"` + sig.Signature + `","approver_id":"alice"}]}`, membership.NonCanonical},
		{"missing body", `{"signatures":[]}`, membership.NonCanonical},
		{"null body", `{"body":null,"signatures":[]}`, membership.UnknownSchema},
		{"body as string", `{"body":` + fmt.Sprintf("%q", body) + `,"signatures":[]}`, membership.NonCanonical},
		{"body not canonical", `{"body":` + strings.Replace(body, `"epoch":2`, `"epoch": 2`, 1) + `,"signatures":[]}`, membership.NonCanonical},
		{"trailing data", `{"body":` + body + `,"signatures":[]} {}`, membership.NonCanonical},
		{"array", `[{"body":` + body + `,"signatures":[]}]`, membership.NonCanonical},
		{"signature with non-canonical base64", `{"body":` + body + `,"signatures":[{"public_key":"` + sig.PublicKey + `","signature":"` + flipSigPadBits(sig.Signature) + `"}]}`, membership.BadSignature},
		{"signature of 63 bytes", `{"body":` + body + `,"signatures":[{"public_key":"` + sig.PublicKey + `","signature":"` + shortSig + `"}]}`, membership.BadSignature},
		{"signer key not base64", `{"body":` + body + `,"signatures":[{"public_key":"alice","signature":"` + sig.Signature + `"}]}`, membership.UnknownSigner},
		{"more signatures than approvers could give", `{"body":` + body + `,"signatures":[` + strings.Join(many, ",") + `]}`, membership.LimitExceeded},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := membership.ParseSignedUpdate([]byte(c.file), nil)
			wantCode(t, err, c.code)
		})
	}

	for _, sigs := range []string{`[]`, `null`} {
		got, err := membership.ParseSignedUpdate([]byte(`{"body":`+body+`,"signatures":`+sigs+`}`), nil)
		if err != nil || len(got.Signatures) != 0 {
			t.Errorf("signatures %s: got %v, want an unsigned update", sigs, err)
		}
	}

	// What the envelope may vary: whitespace and member order.
	for name, file := range map[string]string{
		"compact":          `{"body":` + body + `,"signatures":[` + sigJSON + `]}`,
		"spaced":           "\n{ \"body\" :\t" + body + " ,\r\n \"signatures\" : [ " + sigJSON + " ] }\n",
		"signatures first": `{"signatures":[` + sigJSON + `],"body":` + body + `}`,
		"engine encoding":  string(u.Encode()),
	} {
		t.Run("accepts "+name, func(t *testing.T) {
			got, err := membership.ParseSignedUpdate([]byte(file), nil)
			if err != nil {
				t.Fatalf("got %v, want success", err)
			}
			if !bytes.Equal(got.BodyBytes(), u.BodyBytes()) {
				t.Errorf("body bytes changed")
			}
			if len(got.Signatures) == 0 || got.Signatures[0] != u.Signatures[0] {
				t.Errorf("got signatures %v, want the first to be %v", got.Signatures, u.Signatures[0])
			}
		})
	}
}

// TestParseLogNegative is the table of malformed portable log files.
func TestParseLogNegative(t *testing.T) {
	steps := goldenChain(t)
	var log []*membership.SignedUpdate
	for _, s := range steps {
		log = append(log, s.Update)
	}
	good := string(membership.EncodeLog(log))
	entry := string(steps[0].Update.Encode())
	small := membership.DefaultLimits()
	small.MaxLogEntries = 3
	cases := []struct {
		name   string
		file   string
		limits *membership.Limits
		code   membership.Code
	}{
		{"not an array", `"log"`, nil, membership.NonCanonical},
		{"empty file", ``, nil, membership.NonCanonical},
		{"truncated", good[:len(good)/2], nil, membership.NonCanonical},
		{"missing closing bracket", strings.TrimSuffix(strings.TrimSpace(good), "]"), nil, membership.NonCanonical},
		{"trailing data", good + "[]", nil, membership.NonCanonical},
		{"entry is not an object", `[1]`, nil, membership.NonCanonical},
		{"entry is null", `[null]`, nil, membership.NonCanonical},
		{"entry with unknown field", `[{"body":` + string(steps[0].Update.BodyBytes()) + `,"signatures":[],"x":1}]`, nil, membership.NonCanonical},
		{"entry with duplicate body", `[{"body":` + string(steps[0].Update.BodyBytes()) + `,"body":` + string(steps[1].Update.BodyBytes()) + `,"signatures":[]}]`, nil, membership.NonCanonical},
		{"entry with non-canonical body", `[{"body":` + string(steps[0].Update.BodyBytes()) + ` ,"signatures":[]},{"body":{"a":1},"signatures":[]}]`, nil, membership.UnknownSchema},
		{"more entries than the limit", good, &small, membership.LimitExceeded},
		{"single object with trailing data", entry + "{}", nil, membership.NonCanonical},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := membership.ParseLog([]byte(c.file), c.limits)
			wantCode(t, err, c.code)
		})
	}

	for name, file := range map[string]string{
		"engine encoding":    good,
		"compact":            "[" + strings.Join(strings.Split(strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(good), "["), "]")), "\n"), "") + "]",
		"single update file": entry,
	} {
		t.Run("accepts "+name, func(t *testing.T) {
			got, err := membership.ParseLog([]byte(file), nil)
			if err != nil {
				t.Fatalf("got %v, want success", err)
			}
			for i, u := range got {
				if !bytes.Equal(u.BodyBytes(), log[i].BodyBytes()) {
					t.Errorf("entry %d: body differs", i)
				}
			}
		})
	}
}

// TestListOrder pins the frozen v1 order of every list, independently of
// Go's netip ordering (which has changed between releases): prefixes by
// family (IPv4 first), then address bytes, then length; endpoints by
// family, address bytes, then port; tags by bytes. A list out of order or
// with a repeat is NON_CANONICAL.
func TestListOrder(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(*membership.Node)
		sorted bool
	}{
		{"routes: address before length", func(n *membership.Node) { n.Routes = pfxs("10.0.0.0/16", "11.0.0.0/8") }, true},
		{"routes: length orders equal addresses", func(n *membership.Node) { n.Routes = pfxs("10.0.0.0/8", "10.0.0.0/16") }, true},
		{"routes: longer first", func(n *membership.Node) { n.Routes = pfxs("10.0.0.0/16", "10.0.0.0/8") }, false},
		{"routes: by address bytes, not text", func(n *membership.Node) { n.Routes = pfxs("9.0.0.0/8", "10.0.0.0/8") }, true},
		{"routes: text order", func(n *membership.Node) { n.Routes = pfxs("10.0.0.0/8", "9.0.0.0/8") }, false},
		{"routes: IPv4 before IPv6", func(n *membership.Node) { n.Routes = pfxs("255.0.0.0/8", "::/0") }, true},
		{"routes: IPv6 before IPv4", func(n *membership.Node) { n.Routes = pfxs("::/0", "0.0.0.0/0") }, false},
		{"routes: repeat", func(n *membership.Node) { n.Routes = pfxs("10.0.0.0/8", "10.0.0.0/8") }, false},
		{"addresses: IPv4 before IPv6", func(n *membership.Node) { n.Addresses = pfxs("100.64.9.1/32", "fd00::1/128") }, true},
		{"addresses: IPv6 by bytes", func(n *membership.Node) { n.Addresses = pfxs("fd00::2/128", "fd00::10/128") }, true},
		{"endpoints: port orders equal addresses", func(n *membership.Node) {
			n.Endpoints = []netip.AddrPort{ap("192.0.2.1:9"), ap("192.0.2.1:10")}
		}, true},
		{"endpoints: address before port", func(n *membership.Node) {
			n.Endpoints = []netip.AddrPort{ap("192.0.2.1:60000"), ap("192.0.2.2:1")}
		}, true},
		{"endpoints: IPv6 before IPv4", func(n *membership.Node) {
			n.Endpoints = []netip.AddrPort{ap("[2001:db8::1]:1"), ap("192.0.2.1:1")}
		}, false},
		{"tags: byte order", func(n *membership.Node) { n.Tags = []string{"a-b", "a1", "ab"} }, true},
		{"tags: not byte order", func(n *membership.Node) { n.Tags = []string{"a1", "a-b"} }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			net := membershiptest.New(t, 1)
			n := node("x", 9, c.edit)
			u := forge(t, nextBody(net.Chain.State(), membership.Operation{Type: membership.OpAddNode, Node: n}, net.Now))
			_, err := membership.Evaluate(net.Chain.State(), net.Sign(t, u, "alice", "bob"), net.Options())
			want := membership.NonCanonical
			if c.sorted {
				want = membership.WrongNewRoot // forged root: the lists passed
			}
			wantCode(t, err, want)
			norm := n.Clone()
			norm.Normalize()
			if c.sorted && !cmp.Equal(norm, n, cmpopts.EquateEmpty(), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }), cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })) {
				t.Errorf("Normalize reorders a sorted node: got %+v, want %+v", norm, n)
			}
		})
	}
}
