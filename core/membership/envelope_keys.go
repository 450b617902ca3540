package membership

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// checkEnvelopeKeys refuses what encoding/json lets through in an update
// file: a member name that matches a field only case-insensitively
// ("Body"), and a repeated member, of which encoding/json silently keeps
// the last. Either would let two readers of one file disagree on which
// body or signatures it holds. The body itself is skipped here: ParseBody
// holds it to the stricter canonical form.
func checkEnvelopeKeys(data []byte) error {
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
