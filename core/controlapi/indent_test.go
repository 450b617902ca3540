package controlapi

import (
	"bytes"
	"testing"

	jsonv1 "github.com/go-json-experiment/json/v1"
)

// indentCases are JSON documents whose indentation appendIndented must
// write exactly as json.Indent does.
var indentCases = []string{
	`{}`, `[]`, `""`, `0`, `-1.5e+10`, `true`, `null`,
	` { } `, "[\n]", `{"a":[],"b":{},"c":[ ],"d":{	}}`,
	`{"a":1,"b":[1,2,{"c":null}],"d":"x"}`,
	`[[[]],[[1]],{"":""}]`,
	`{"s":"a\"b\\c\u00e9\n,:{}[]","t":"\\"}`,
	"  [ 1 , 2 ,\n\t3 ]  ",
	`{"peers":[{"node_id":"n2","allowed_ips":["100.64.0.2/32"],"rx_bytes":0}],"x":false}`,
	"\"é\u2028\"",
}

// TestAppendIndented: appendIndented writes what json.Indent writes.
func TestAppendIndented(t *testing.T) {
	for _, src := range indentCases {
		checkIndented(t, []byte(src))
	}
}

func checkIndented(t *testing.T, src []byte) {
	t.Helper()
	for _, indent := range []string{"  ", "\t", ""} {
		var want bytes.Buffer
		if err := jsonv1.Indent(&want, bytes.TrimRight(src, " \t\r\n"), "", indent); err != nil {
			t.Fatalf("Indent(%q): %v", src, err)
		}
		if got := appendIndented([]byte("prefix"), src, indent); !bytes.Equal(got, append([]byte("prefix"), want.Bytes()...)) {
			t.Errorf("indenting %q with %q:\ngot  %q\nwant %q", src, indent, got, want.Bytes())
		}
	}
}

// FuzzAppendIndented: any valid JSON is indented as json.Indent indents it.
func FuzzAppendIndented(f *testing.F) {
	for _, src := range indentCases {
		f.Add([]byte(src))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if jsonv1.Valid(src) {
			checkIndented(t, src)
		}
	})
}
