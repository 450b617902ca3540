package membership

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestJSONProblem checks that what encoding/json says about a malformed
// file reaches the operator in plain words: the field and the kinds of
// value, or the byte where the JSON breaks; never a Go type.
func TestJSONProblem(t *testing.T) {
	tests := []struct {
		name, in string
		into     func() any
		want     string
	}{
		{"a body that is a number", `5`, func() any { return &wireBody{} }, "want an object, got a number"},
		{"an epoch that is a string", `{"epoch":"2"}`, func() any { return &wireBody{} }, "field epoch: want a non-negative integer, got a string"},
		{"a negative epoch", `{"epoch":-1}`, func() any { return &wireBody{} }, "field epoch: want a non-negative integer, got a number (-1)"},
		{"a schema version that is true", `{"schema_version":true}`, func() any { return &wireBody{} }, "field schema_version: want a number, got true or false"},
		{"a schema version that is no number", `{"schema_version":"x"}`, func() any { return &wireBody{} }, "want a number, got a string"},
		{"a nested list that is a string", `{"operation":{"node":{"addresses":"10.0.0.1/32"}}}`, func() any { return &wireBody{} },
			"field operation.node.addresses: want an array, got a string"},
		{"a policy that is an array", `{"operation":{"policy":[]}}`, func() any { return &wireBody{} }, "field operation.policy: want an object, got an array"},
		{"broken JSON", `{"epoch" 2}`, func() any { return &wireBody{} }, "invalid JSON at byte 10: invalid character '2' after object key"},
		{"JSON that ends early", `{"epoch":`, func() any { return &wireBody{} }, "invalid JSON at byte 9: unexpected end of JSON input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := json.Unmarshal([]byte(tt.in), tt.into())
			if err == nil {
				t.Fatal("json.Unmarshal accepted it")
			}
			got := jsonProblem(err)
			if got != tt.want {
				t.Errorf("got %q, want %q (from %q)", got, tt.want, err)
			}
			if strings.Contains(got, "Go ") || strings.Contains(got, "membership.") {
				t.Errorf("%q names a Go type", got)
			}
		})
	}
}

// TestMalformedFilesNameNoGoType parses malformed update, log and
// evidence files and checks that no error names a Go type.
func TestMalformedFilesNameNoGoType(t *testing.T) {
	parsers := map[string]func([]byte) error{
		"update":   func(b []byte) error { _, err := ParseSignedUpdate(b, nil); return err },
		"log":      func(b []byte) error { _, err := ParseLog(b, nil); return err },
		"evidence": func(b []byte) error { _, err := ParseEvidence(b, nil); return err },
		"policy":   func(b []byte) error { _, err := ParsePolicy(b, nil); return err },
	}
	inputs := []string{`5`, `"x"`, `[5]`, `[{"body":5}]`, `{"body":5}`, `{"body":[]}`, `{"body":{"epoch":"x"}}`,
		`{"body":{},"signatures":5}`, `{"body":{},"signatures":[5]}`, `{"rules":5}`, `{"rules":[{"src":5}]}`,
		`{"version":"1"}`, `{"log":5}`, `{"updates":{}}`, `{`, `[{`, `null`, ``}
	for name, parse := range parsers {
		for _, in := range inputs {
			err := parse([]byte(in))
			if err == nil {
				continue
			}
			if msg := err.Error(); strings.Contains(msg, "Go ") || strings.Contains(msg, "struct {") || strings.Contains(msg, "membership.") {
				t.Errorf("%s %q: %s", name, in, msg)
			}
		}
	}
}
