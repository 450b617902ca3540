package membership

import (
	"strconv"
)

// This file is the canonical JSON writer: RFC 8785 (JCS) restricted to the
// values our closed schema uses — objects whose keys the callers emit in
// sorted order, arrays, strings and non-negative integers below 2^53. There
// are no floats, nulls or booleans in v1 records, so JCS number
// serialisation reduces to plain decimal integers.

// maxSafeInt is the largest integer JCS (I-JSON) represents exactly.
const maxSafeInt = 1<<53 - 1

// canonWriter appends canonical JSON to a byte slice. Callers emit object
// members in ascending key order (all keys are ASCII, so byte order is
// UTF-16 code-unit order, as JCS requires); a test checks every record type.
type canonWriter struct {
	b      []byte
	first  []bool     // per open container: no member written yet
	layout bodyLayout // where body wrote the parts it locates
}

func (w *canonWriter) open(c byte) {
	w.b = append(w.b, c)
	w.first = append(w.first, true)
}

func (w *canonWriter) close(c byte) {
	w.b = append(w.b, c)
	w.first = w.first[:len(w.first)-1]
}

func (w *canonWriter) sep() {
	if n := len(w.first); n > 0 {
		if !w.first[n-1] {
			w.b = append(w.b, ',')
		}
		w.first[n-1] = false
	}
}

func (w *canonWriter) beginObject() { w.sep(); w.open('{') }
func (w *canonWriter) endObject()   { w.close('}') }
func (w *canonWriter) beginArray()  { w.sep(); w.open('[') }
func (w *canonWriter) endArray()    { w.close(']') }
func (w *canonWriter) key(k string) {
	w.sep()
	w.str(k)
	w.b = append(w.b, ':')
	w.first[len(w.first)-1] = true
}
func (w *canonWriter) value(s string) { w.sep(); w.str(s) }
func (w *canonWriter) uint(v uint64)  { w.sep(); w.b = strconv.AppendUint(w.b, v, 10) }

func (w *canonWriter) field(k, v string) { w.key(k); w.value(v) }
func (w *canonWriter) fieldUint(k string, v uint64) {
	w.key(k)
	w.uint(v)
}

func (w *canonWriter) fieldStrings(k string, vs []string) {
	w.key(k)
	w.beginArray()
	for _, v := range vs {
		w.value(v)
	}
	w.endArray()
}

// str writes a JSON string escaped as JCS requires: only '"', '\\' and
// control characters are escaped, using the short forms where JSON has
// them and lower-case \u00xx otherwise; everything else is literal UTF-8.
// Invalid UTF-8 never reaches here: decoding rejects it.
func (w *canonWriter) str(s string) {
	const hex = "0123456789abcdef"
	w.b = append(w.b, '"')
	// Runs of bytes written as they are (nearly every string is one run)
	// are copied at once; UTF-8 sequences are bytes of 0x80 and above,
	// all literal.
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		w.b = append(w.b, s[start:i]...)
		start = i + 1
		switch c {
		case '"':
			w.b = append(w.b, '\\', '"')
		case '\\':
			w.b = append(w.b, '\\', '\\')
		case '\b':
			w.b = append(w.b, '\\', 'b')
		case '\f':
			w.b = append(w.b, '\\', 'f')
		case '\n':
			w.b = append(w.b, '\\', 'n')
		case '\r':
			w.b = append(w.b, '\\', 'r')
		case '\t':
			w.b = append(w.b, '\\', 't')
		default: // the other control characters
			w.b = append(w.b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
	}
	w.b = append(w.b, s[start:]...)
	w.b = append(w.b, '"')
}
