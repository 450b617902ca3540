package membership

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// checkEnvelopeKeys refuses what encoding/json lets through in an update
// file: a member name that matches a field only case-insensitively
// ("Body"), and a repeated member, of which encoding/json silently keeps
// the last. Either would let two readers of one file disagree on which
// body or signatures it holds. The body itself is skipped here: ParseBody
// holds it to the stricter canonical form.
//
// data must be one JSON value that encoding/json decoded (so valid), then
// nothing else; an envelope whose member names are spelt plainly is checked
// in one quick pass (envelopeKeysPlain), any other by decoding it again.
func checkEnvelopeKeys(data []byte) error {
	if envelopeKeysPlain(data) {
		return nil
	}
	return checkEnvelopeKeysFull(data)
}

// checkEnvelopeKeysFull is checkEnvelopeKeys by encoding/json's tokens,
// which also says what is wrong.
func checkEnvelopeKeysFull(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	skip := func() error {
		var v json.RawMessage
		return dec.Decode(&v)
	}
	err := walkObject(dec, func(k string) error {
		switch k {
		case "body":
			return skip()
		case "signatures":
			return walkArray(dec, func() error {
				return walkObject(dec, func(k string) error {
					if k != "public_key" && k != "signature" {
						return fmt.Errorf("unknown signature field %q", k)
					}
					return skip()
				})
			})
		}
		return fmt.Errorf("unknown field %q", k)
	})
	if err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the signed update")
	}
	return nil
}

// walkObject reads one JSON object, calling member with each member name
// (member consumes the value) and refusing a name seen before.
func walkObject(dec *json.Decoder, member func(string) error) error {
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("want a JSON object (%v)", err)
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		k, ok := t.(string)
		if !ok {
			return fmt.Errorf("want a member name, got %v", t)
		}
		if seen[k] {
			return fmt.Errorf("member %q appears more than once", k)
		}
		seen[k] = true
		if err := member(k); err != nil {
			return err
		}
	}
	_, err := dec.Token()
	return err
}

// walkArray reads one JSON array (or null), calling elem for each element.
func walkArray(dec *json.Decoder, elem func() error) error {
	t, err := dec.Token()
	if err != nil || t == nil {
		return err
	}
	if t != json.Delim('[') {
		return fmt.Errorf("want a JSON array, got %v", t)
	}
	for dec.More() {
		if err := elem(); err != nil {
			return err
		}
	}
	_, err = dec.Token()
	return err
}

// envelopeKeysPlain reports whether data, valid JSON (see
// checkEnvelopeKeys) followed by nothing but white space, is an object with
// members "body" and "signatures", each at most once, whose signatures are
// null or an array of objects with members "public_key" and "signature",
// each at most once, every name spelt without escapes. Such an envelope
// passes checkEnvelopeKeysFull; false says nothing (check it fully). It
// reads each byte once, skipping the body without decoding it.
func envelopeKeysPlain(data []byte) bool {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return false
	}
	var body, sigs bool
	i, ok := plainMembers(data, i, func(name string, j int) (int, bool) {
		switch {
		case name == "body" && !body:
			body = true
			return skipValue(data, j)
		case name == "signatures" && !sigs:
			sigs = true
			return plainSignatures(data, j)
		}
		return 0, false
	})
	return ok && skipSpace(data, i) == len(data)
}

// plainSignatures reads, at data[i:], null or an array of signature
// objects as envelopeKeysPlain accepts them, returning the index after it.
func plainSignatures(data []byte, i int) (int, bool) {
	if bytes.HasPrefix(data[i:], []byte("null")) {
		return i + 4, true
	}
	if data[i] != '[' {
		return 0, false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		return i + 1, true
	}
	for i < len(data) {
		if data[i] != '{' {
			return 0, false
		}
		var pub, sig bool
		var ok bool
		i, ok = plainMembers(data, i, func(name string, j int) (int, bool) {
			switch {
			case name == "public_key" && !pub:
				pub = true
			case name == "signature" && !sig:
				sig = true
			default:
				return 0, false
			}
			return skipValue(data, j)
		})
		if !ok {
			return 0, false
		}
		i = skipSpace(data, i)
		if i >= len(data) {
			return 0, false
		}
		switch data[i] {
		case ']':
			return i + 1, true
		case ',':
			i = skipSpace(data, i+1)
		default:
			return 0, false
		}
	}
	return 0, false
}

// plainMembers reads the object at data[i] (which is '{'), calling member
// with each member name and the index of its value; member returns the
// index after the value, or false to give up, as plainMembers does for a
// name with an escape. It returns the index after the object.
func plainMembers(data []byte, i int, member func(name string, j int) (int, bool)) (int, bool) {
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return i + 1, true
	}
	for i < len(data) && data[i] == '"' {
		end := bytes.IndexByte(data[i+1:], '"')
		if end < 0 {
			return 0, false
		}
		name := data[i+1 : i+1+end]
		if bytes.IndexByte(name, '\\') >= 0 {
			return 0, false
		}
		i = skipSpace(data, i+2+end)
		if i >= len(data) || data[i] != ':' {
			return 0, false
		}
		var ok bool
		if i, ok = member(string(name), skipSpace(data, i+1)); !ok {
			return 0, false
		}
		i = skipSpace(data, i)
		if i >= len(data) {
			return 0, false
		}
		switch data[i] {
		case '}':
			return i + 1, true
		case ',':
			i = skipSpace(data, i+1)
		default:
			return 0, false
		}
	}
	return 0, false
}

// skipValue returns the index after the valid JSON value at data[i].
func skipValue(data []byte, i int) (int, bool) {
	if i >= len(data) {
		return 0, false
	}
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for i < len(data) {
			switch data[i] {
			case '"':
				var ok bool
				if i, ok = skipString(data, i); !ok {
					return 0, false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, true
				}
			}
			i++
		}
		return 0, false
	}
	for i < len(data) && !strings.ContainsRune(",]} \t\r\n", rune(data[i])) {
		i++
	}
	return i, true
}

// skipString returns the index after the JSON string at data[i] ('"').
func skipString(data []byte, i int) (int, bool) {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1, true
		}
	}
	return 0, false
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n') {
		i++
	}
	return i
}
