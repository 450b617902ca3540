package controlapi

import (
	"strconv"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// PeerList is the peers of a status: one entry per peer, 10,000 in a
// large mesh, megabytes of JSON. Its JSON is exactly that of
// []PeerStatus (the tests hold the two to the same bytes and the same
// values); it is only written and read faster. Writing appends each
// peer's fields in their one order (appendJSON; the daemon's status
// document takes them as they are, see statusEncoder); reading takes the
// array in that form, every string plain ASCII, apart with one copy of
// its text — anything else, and every error, is left to the generic
// decoding of []PeerStatus. The generic ways took most of a `rustynet
// status` of 10,000 peers.
type PeerList []PeerStatus

// RouteList is the routes of an interface; as PeerList, one per peer in a
// mesh, and its JSON exactly that of []RouteStatus.
type RouteList []RouteStatus

// MarshalJSONTo writes l as []PeerStatus writes.
func (l PeerList) MarshalJSONTo(enc *jsontext.Encoder) error {
	if b, ok := l.appendJSON(nil); ok {
		return enc.WriteValue(b)
	}
	return jsonv2.MarshalEncode(enc, []PeerStatus(l))
}

// appendJSON appends l to b as json.Marshal writes []PeerStatus, compact,
// and reports whether it could: not for nil (null) nor with a string that
// is not plain (see appendPlain) or a time MarshalJSON refuses or writes
// otherwise; b is then returned as it was.
func (l PeerList) appendJSON(b []byte) ([]byte, bool) {
	if l == nil {
		return b, false
	}
	was := len(b)
	ok := true
	b = append(b, '[')
	for i := range l {
		p := &l[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"node_id":`...)
		b = appendPlain(b, p.NodeID, &ok)
		b = append(b, `,"public_key":`...)
		b = appendPlain(b, p.PublicKey, &ok)
		if p.Endpoint != "" {
			b = append(b, `,"endpoint":`...)
			b = appendPlain(b, p.Endpoint, &ok)
		}
		b = append(b, `,"allowed_ips":`...)
		if p.AllowedIPs == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '[')
			for j, a := range p.AllowedIPs {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendPlain(b, a, &ok)
			}
			b = append(b, ']')
		}
		if t := p.LastHandshake; !t.IsZero() {
			_, off := t.Zone()
			if y := t.Year(); y < 0 || y > 9999 || off%60 != 0 || off <= -24*3600 || off >= 24*3600 {
				ok = false // MarshalJSON's error, or seconds of offset RFC 3339 has no room for
			}
			b = append(b, `,"last_handshake":"`...)
			b = t.AppendFormat(b, time.RFC3339Nano)
			b = append(b, '"')
		}
		b = append(b, `,"rx_bytes":`...)
		b = strconv.AppendUint(b, p.RxBytes, 10)
		b = append(b, `,"tx_bytes":`...)
		b = strconv.AppendUint(b, p.TxBytes, 10)
		b = append(b, '}')
	}
	b = append(b, ']')
	if !ok {
		return b[:was], false
	}
	return b, true
}

// MarshalJSONTo writes l as []RouteStatus writes.
func (l RouteList) MarshalJSONTo(enc *jsontext.Encoder) error {
	if b, ok := l.appendJSON(nil); ok {
		return enc.WriteValue(b)
	}
	return jsonv2.MarshalEncode(enc, []RouteStatus(l))
}

// appendJSON is PeerList.appendJSON for routes.
func (l RouteList) appendJSON(b []byte) ([]byte, bool) {
	if l == nil {
		return b, false
	}
	was := len(b)
	ok := true
	b = append(b, '[')
	for i := range l {
		r := &l[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"prefix":`...)
		b = appendPlain(b, r.Prefix, &ok)
		b = append(b, `,"via":`...)
		b = appendPlain(b, r.Via, &ok)
		b = append(b, `,"kind":`...)
		b = appendPlain(b, r.Kind, &ok)
		b = append(b, '}')
	}
	b = append(b, ']')
	if !ok {
		return b[:was], false
	}
	return b, true
}

// appendPlain appends s quoted, and clears *ok unless s is plain: written
// in JSON as itself between quotes under every escaping option of the
// encoder (printable ASCII but for the quote, the backslash and the
// characters escaped for HTML).
func appendPlain(b []byte, s string, ok *bool) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20, c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			*ok = false
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// UnmarshalJSONFrom reads l as []PeerStatus reads.
func (l *PeerList) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	raw, err := dec.ReadValue()
	if err != nil {
		return err
	}
	if ps, ok := parsePeers(raw); ok {
		*l = ps
		return nil
	}
	return jsonv2.Unmarshal(raw, (*[]PeerStatus)(l), dec.Options())
}

// UnmarshalJSONFrom reads l as []RouteStatus reads.
func (l *RouteList) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	raw, err := dec.ReadValue()
	if err != nil {
		return err
	}
	if rs, ok := parseRoutes(raw); ok {
		*l = rs
		return nil
	}
	return jsonv2.Unmarshal(raw, (*[]RouteStatus)(l), dec.Options())
}

// listScanner reads a JSON array in the exact form PeerList and
// RouteList write; any other form (or byte) makes it fail, and the caller
// leaves the value to the generic decoding. Its strings are slices of one
// copy of the array's text.
type listScanner struct {
	s   string
	i   int
	bad bool
}

// lit consumes t, or fails.
func (r *listScanner) lit(t string) {
	if !r.bad && strings.HasPrefix(r.s[r.i:], t) {
		r.i += len(t)
		return
	}
	r.bad = true
}

// is consumes t and reports whether it was next.
func (r *listScanner) is(t string) bool {
	if !r.bad && strings.HasPrefix(r.s[r.i:], t) {
		r.i += len(t)
		return true
	}
	return false
}

// str consumes a quoted plain string (see plain) and returns it.
func (r *listScanner) str() string {
	if r.bad || r.i >= len(r.s) || r.s[r.i] != '"' {
		r.bad = true
		return ""
	}
	start := r.i + 1
	for j := start; j < len(r.s); j++ {
		switch c := r.s[j]; {
		case c == '"':
			r.i = j + 1
			return r.s[start:j]
		case c < 0x20, c > 0x7e, c == '\\':
			r.bad = true
			return ""
		}
	}
	r.bad = true
	return ""
}

// digits consumes a number that is a uint64 written in digits alone.
func (r *listScanner) digits() uint64 {
	j := r.i
	for j < len(r.s) && r.s[j] >= '0' && r.s[j] <= '9' {
		j++
	}
	if r.bad || j == r.i {
		r.bad = true
		return 0
	}
	n, err := strconv.ParseUint(r.s[r.i:j], 10, 64)
	if err != nil {
		r.bad = true // out of range: the generic decoding's error
		return 0
	}
	r.i = j
	return n
}

// items consumes an array, calling item for each element.
func (r *listScanner) items(item func()) {
	r.lit("[")
	if r.is("]") {
		return
	}
	for !r.bad {
		item()
		if r.is("]") {
			return
		}
		r.lit(",")
	}
}

// parsePeers reads raw (one valid JSON value) in the form
// PeerList.MarshalJSONTo writes it.
func parsePeers(raw []byte) (PeerList, bool) {
	r := &listScanner{s: string(raw)}
	n := strings.Count(r.s, `{"node_id":`)
	peers := make(PeerList, 0, n)
	ips := make([]string, 0, n) // the peers' allowed IPs, one backing array
	r.items(func() {
		var p PeerStatus
		r.lit(`{"node_id":`)
		p.NodeID = r.str()
		r.lit(`,"public_key":`)
		p.PublicKey = r.str()
		if r.is(`,"endpoint":`) {
			p.Endpoint = r.str()
		}
		r.lit(`,"allowed_ips":`)
		if !r.is("null") {
			from := len(ips)
			r.items(func() { ips = append(ips, r.str()) })
			p.AllowedIPs = ips[from:len(ips):len(ips)]
		}
		if r.is(`,"last_handshake":`) {
			start := r.i
			r.str()
			if !r.bad && p.LastHandshake.UnmarshalJSON(raw[start:r.i]) != nil {
				r.bad = true
			}
		}
		r.lit(`,"rx_bytes":`)
		p.RxBytes = r.digits()
		r.lit(`,"tx_bytes":`)
		p.TxBytes = r.digits()
		r.lit("}")
		peers = append(peers, p)
	})
	return peers, !r.bad && r.i == len(r.s)
}

// parseRoutes reads raw (one valid JSON value) in the form
// RouteList.MarshalJSONTo writes it.
func parseRoutes(raw []byte) (RouteList, bool) {
	r := &listScanner{s: string(raw)}
	routes := make(RouteList, 0, strings.Count(r.s, `{"prefix":`))
	r.items(func() {
		var rs RouteStatus
		r.lit(`{"prefix":`)
		rs.Prefix = r.str()
		r.lit(`,"via":`)
		rs.Via = r.str()
		r.lit(`,"kind":`)
		rs.Kind = r.str()
		r.lit("}")
		routes = append(routes, rs)
	})
	return routes, !r.bad && r.i == len(r.s)
}
