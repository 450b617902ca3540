package controlapi

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	jsonv1 "github.com/go-json-experiment/json/v1"
	"github.com/google/go-cmp/cmp"
)

// listPeers are peer lists whose JSON PeerList must write and read as
// []PeerStatus does: every field form, and the strings and times its fast
// paths leave to the generic ones.
func listPeers() map[string]PeerList {
	at := time.Date(2026, 12, 3, 17, 4, 5, 123456789, time.UTC)
	p := PeerStatus{NodeID: "n2", PublicKey: "q58sC38YqjxD7cF+DTs1oVr9McvUQ2E8DqnAFrthSlU=", AllowedIPs: []string{"100.64.0.2/32"}, RxBytes: 1, TxBytes: 1<<64 - 1}
	with := func(f func(*PeerStatus)) PeerList {
		q := p
		q.AllowedIPs = append([]string(nil), p.AllowedIPs...)
		f(&q)
		return PeerList{p, q}
	}
	return map[string]PeerList{
		"nil":             nil,
		"empty":           {},
		"one":             {p},
		"zero peer":       {{}},
		"endpoint":        with(func(q *PeerStatus) { q.Endpoint = "[fd00::1]:51820" }),
		"no allowed IPs":  with(func(q *PeerStatus) { q.AllowedIPs = nil }),
		"empty IP list":   with(func(q *PeerStatus) { q.AllowedIPs = []string{} }),
		"several IPs":     with(func(q *PeerStatus) { q.AllowedIPs = []string{"100.64.0.3/32", "10.1.0.0/16", "::/0"} }),
		"handshake UTC":   with(func(q *PeerStatus) { q.LastHandshake = at }),
		"handshake whole": with(func(q *PeerStatus) { q.LastHandshake = at.Truncate(time.Second) }),
		"handshake zone":  with(func(q *PeerStatus) { q.LastHandshake = at.In(time.FixedZone("", -(5*3600 + 30*60))) }),
		"zone seconds":    with(func(q *PeerStatus) { q.LastHandshake = at.In(time.FixedZone("", 3600+7)) }),
		"year 10000":      with(func(q *PeerStatus) { q.LastHandshake = at.AddDate(8000, 0, 0) }),
		"HTML":            with(func(q *PeerStatus) { q.NodeID = "<a&b>" }),
		"quote":           with(func(q *PeerStatus) { q.Endpoint = `x"y\z` }),
		"control":         with(func(q *PeerStatus) { q.NodeID = "a\tb\x00" }),
		"unicode":         with(func(q *PeerStatus) { q.NodeID = "nœud\u2028" }),
		"invalid UTF-8":   with(func(q *PeerStatus) { q.AllowedIPs[0] = "\xff" }),
	}
}

func listRoutes() map[string]RouteList {
	r := RouteStatus{Prefix: "100.64.0.2/32", Via: "n2", Kind: RouteMesh}
	return map[string]RouteList{
		"nil":     nil,
		"empty":   {},
		"one":     {r},
		"several": {r, {Prefix: "0.0.0.0/0", Via: "exit", Kind: RouteExit}, {Prefix: "10.0.0.0/8", Kind: RouteSubnet}},
		"zero":    {{}},
		"HTML":    {r, {Prefix: "a<b", Via: "&", Kind: ">"}},
		"escape":  {r, {Prefix: "\"\\\n", Via: "\u00e9"}},
	}
}

// encodings are the ways the daemon and the CLI encode a status.
var encodings = map[string]func(v any) ([]byte, error){
	"Marshal": jsonv1.Marshal,
	"Encoder": func(v any) ([]byte, error) {
		var b bytes.Buffer
		err := jsonv1.NewEncoder(&b).Encode(v)
		return b.Bytes(), err
	},
	"indented": func(v any) ([]byte, error) { return jsonv1.MarshalIndent(v, "", "  ") },
}

// TestListJSONAsGeneric: PeerList and RouteList write the bytes
// []PeerStatus and []RouteStatus write, with every encoding the control
// API uses, and read them back to the same values; appendJSON writes
// those bytes whenever it can, and the fast reading takes them (so that
// these cases test the fast ways, not the generic fallbacks).
func TestListJSONAsGeneric(t *testing.T) {
	generic := map[string]bool{"nil": true, "zone seconds": true, "year 10000": true, "HTML": true, "quote": true,
		"control": true, "unicode": true, "invalid UTF-8": true, "escape": true} // the cases left to the library
	for name, l := range listPeers() {
		checkList(t, "peers "+name, l, []PeerStatus(l))
		b, err := jsonv1.Marshal([]PeerStatus(l))
		if err != nil {
			continue // the cases MarshalJSON refuses
		}
		fast, ok := l.appendJSON(nil)
		if ok == generic[name] {
			t.Errorf("peers %s: appendJSON took them %v, want %v", name, ok, !generic[name])
		}
		if !ok {
			continue
		}
		if !bytes.Equal(fast, b) {
			t.Errorf("peers %s: appendJSON wrote\n%s\nwant\n%s", name, fast, b)
		}
		if got, fast := parsePeers(b); !fast || !cmp.Equal(got, l, cmp.Comparer(timeEqual)) {
			t.Errorf("peers %s: the fast reading took %v of them, got %v", name, fast, cmp.Diff(l, got))
		}
	}
	for name, l := range listRoutes() {
		checkList(t, "routes "+name, l, []RouteStatus(l))
		b, err := jsonv1.Marshal([]RouteStatus(l))
		if err != nil {
			continue // the cases MarshalJSON refuses
		}
		fast, ok := l.appendJSON(nil)
		if ok == generic[name] {
			t.Errorf("routes %s: appendJSON took them %v, want %v", name, ok, !generic[name])
		}
		if !ok {
			continue
		}
		if !bytes.Equal(fast, b) {
			t.Errorf("routes %s: appendJSON wrote\n%s\nwant\n%s", name, fast, b)
		}
		if got, fast := parseRoutes(b); !fast || !cmp.Equal(got, l) {
			t.Errorf("routes %s: the fast reading took %v of them, got %v", name, fast, cmp.Diff(l, got))
		}
	}
}

func timeEqual(a, b time.Time) bool {
	return a.Equal(b) && a.Format(time.RFC3339Nano) == b.Format(time.RFC3339Nano)
}

// checkList checks that list (a PeerList or RouteList) and generic (the
// same as a plain slice) encode to the same bytes and errors, and that
// the bytes decode to the same values through both.
func checkList[L any, G any](t *testing.T, name string, list L, generic G) {
	t.Helper()
	for enc, marshal := range encodings {
		got, gotErr := marshal(list)
		want, wantErr := marshal(generic)
		if (gotErr != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
			t.Errorf("%s, %s: wrote\n%s (%v)\nwant\n%s (%v)", name, enc, got, gotErr, want, wantErr)
			continue
		}
		if wantErr == nil {
			checkDecode[L, G](t, name+", "+enc, want)
		}
	}
}

// checkDecode checks that data decodes to the same value, or fails, as a
// list L and as a plain slice G.
func checkDecode[L any, G any](t *testing.T, name string, data []byte) {
	t.Helper()
	var list L
	var generic G
	listErr := jsonv1.Unmarshal(data, &list)
	genericErr := jsonv1.Unmarshal(data, &generic)
	if (listErr != nil) != (genericErr != nil) {
		t.Fatalf("%s: decoding %q: list error %v, generic error %v", name, data, listErr, genericErr)
	}
	if genericErr != nil {
		return
	}
	if !cmp.Equal(any(list), convert[L](generic), cmp.Comparer(timeEqual)) {
		t.Fatalf("%s: decoding %q: list and generic differ:\n%s", name, data, cmp.Diff(convert[L](generic), any(list), cmp.Comparer(timeEqual)))
	}
}

// convert returns a plain slice as its list type.
func convert[L any](g any) any {
	switch g := g.(type) {
	case []PeerStatus:
		return PeerList(g)
	case []RouteStatus:
		return RouteList(g)
	}
	panic(fmt.Sprintf("%T", g))
}

// FuzzPeerListJSON: any bytes decode to the same peers, or fail, read as
// a PeerList and as []PeerStatus; peers read from them are written to the
// same bytes both ways.
func FuzzPeerListJSON(f *testing.F) {
	for _, l := range listPeers() {
		if b, err := jsonv1.Marshal(l); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`[{"node_id":"a","public_key":"k","allowed_ips":[],"last_handshake":"2026-12-03T17:04:05.1+01:00","rx_bytes":0,"tx_bytes":18446744073709551616}]`))
	f.Add([]byte(`[{"NODE_ID":"a","public_key":"k","allowed_ips":null,"rx_bytes":1,"tx_bytes":2,"extra":3}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode[PeerList, []PeerStatus](t, "fuzz", data)
		var l PeerList
		if jsonv1.Unmarshal(data, &l) == nil {
			checkList(t, "fuzz", l, []PeerStatus(l))
		}
	})
}

// FuzzRouteListJSON is FuzzPeerListJSON for routes.
func FuzzRouteListJSON(f *testing.F) {
	for _, l := range listRoutes() {
		b, _ := jsonv1.Marshal(l)
		f.Add(b)
	}
	f.Add([]byte(`[{"prefix":"a","via":"","kind":"mesh"},{"prefix":"b","kind":"mesh","via":""}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode[RouteList, []RouteStatus](t, "fuzz", data)
		var l RouteList
		if jsonv1.Unmarshal(data, &l) == nil {
			checkList(t, "fuzz", l, []RouteStatus(l))
		}
	})
}
