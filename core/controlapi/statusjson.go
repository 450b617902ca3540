package controlapi

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	json "github.com/go-json-experiment/json/v1"
)

// statusEncoder writes a status document as json.NewEncoder(w).Encode(st)
// writes it, but for its peers and routes — the megabytes of a status of
// 10,000 peers — appended by hand (PeerList.appendJSON) straight into the
// document: the encoder would check them again, which cost as much as
// writing them. The library writes the rest with a marker in place of
// each list, and the lists are put where the markers are. A marker is a
// string of 128 random bits, fresh for each encoder: no other string of
// the status can be its match, and a document with anything but one match
// per list is written the generic way.
type statusEncoder struct {
	peersMarker, routesMarker []byte // quoted, as the library writes them
	opts                      jsonv2.Options
}

// statusJSON writes the status documents of this process: the server's
// and AppendStatus's.
var statusJSON = newStatusEncoder()

// AppendStatus appends st's JSON document to b as the daemon serves it:
// json.NewEncoder(w).Encode(st)'s bytes, a newline after it.
func AppendStatus(b []byte, st Status) ([]byte, error) { return statusJSON.appendStatus(b, st) }

// DecodeStatus decodes a status document as the Client does.
func DecodeStatus(data []byte) (Status, error) {
	var st Status
	err := jsonv2.Unmarshal(data, &st, decodeOptions)
	return st, err
}

func newStatusEncoder() *statusEncoder {
	var nonce [16]byte
	rand.Read(nonce[:])
	e := &statusEncoder{
		peersMarker:  []byte(`"peers-` + hex.EncodeToString(nonce[:]) + `"`),
		routesMarker: []byte(`"routes-` + hex.EncodeToString(nonce[:]) + `"`),
	}
	e.opts = jsonv2.JoinOptions(json.DefaultOptionsV1(), jsonv2.WithMarshalers(jsonv2.JoinMarshalers(
		jsonv2.MarshalToFunc(func(enc *jsontext.Encoder, l PeerList) error {
			if l == nil {
				return errors.ErrUnsupported // the library's null
			}
			return enc.WriteValue(e.peersMarker)
		}),
		jsonv2.MarshalToFunc(func(enc *jsontext.Encoder, l RouteList) error {
			if l == nil {
				return errors.ErrUnsupported // the library's null
			}
			return enc.WriteValue(e.routesMarker)
		}),
	)))
	return e
}

// appendStatus appends st, and a newline, to b as
// json.NewEncoder(w).Encode(st) writes them.
func (e *statusEncoder) appendStatus(b []byte, st Status) ([]byte, error) {
	if out, ok := e.appendFast(b, st); ok {
		return out, nil
	}
	w := bytes.NewBuffer(b)
	err := json.NewEncoder(w).Encode(st)
	return w.Bytes(), err
}

// appendFast is appendStatus with the lists appended by hand; false if it
// cannot (b is then unchanged).
func (e *statusEncoder) appendFast(b []byte, st Status) ([]byte, bool) {
	rest, err := jsonv2.Marshal(st, e.opts)
	if err != nil {
		return b, false
	}
	var routes RouteList
	if st.Interface != nil {
		routes = st.Interface.Routes
	}
	// The interface, and its routes, come before the peers; a nil list
	// is written by the library (null), so it has no marker.
	r, p := e.place(rest, e.routesMarker), e.place(rest, e.peersMarker)
	if r == -2 || p == -2 || (r >= 0 && p >= 0 && r > p) {
		return b, false
	}
	was := len(b)
	ok := true
	from := 0
	if r >= 0 {
		b = append(b, rest[:r]...)
		if b, ok = routes.appendJSON(b); !ok {
			return b[:was], false
		}
		from = r + len(e.routesMarker)
	}
	if p >= 0 {
		b = append(b, rest[from:p]...)
		if b, ok = st.Peers.appendJSON(b); !ok {
			return b[:was], false
		}
		from = p + len(e.peersMarker)
	}
	b = append(b, rest[from:]...)
	return append(b, '\n'), true
}

// place returns where marker is in doc: -1 if nowhere, -2 if more than
// once.
func (e *statusEncoder) place(doc, marker []byte) int {
	i := bytes.Index(doc, marker)
	if i >= 0 && bytes.Contains(doc[i+len(marker):], marker) {
		return -2
	}
	return i
}
