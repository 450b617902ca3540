package controlapi

import (
	"bytes"
	"fmt"
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
	`["\\", "\\\"", "a\\\\\"b", "\\\\"]`,
	`{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":{"j":[1]}}}}}}}}}}`,
}

// TestWriteIndentedLarge: a document of many times WriteIndented's buffer
// is written in pieces, each a bounded size, the whole as json.Indent
// writes it.
func TestWriteIndentedLarge(t *testing.T) {
	var src bytes.Buffer
	src.WriteString(`{"peers":[`)
	for i := range 20000 {
		if i > 0 {
			src.WriteByte(',')
		}
		fmt.Fprintf(&src, `{"node_id":"n%05d","allowed_ips":["100.64.%d.%d/32"],"rx_bytes":%d}`, i, i/256, i%256, i*7)
	}
	src.WriteString(`],"x":"\"}"}`)
	checkIndented(t, src.Bytes())
	var w chunks
	if err := WriteIndented(&w, src.Bytes(), "  "); err != nil {
		t.Fatal(err)
	}
	if w.writes < 10 || w.Len()/w.writes > 64<<10 {
		t.Errorf("%d bytes in %d writes, want pieces of at most 64 KiB", w.Len(), w.writes)
	}
}

// chunks is a buffer that counts the writes it is handed.
type chunks struct {
	bytes.Buffer
	writes int
}

func (c *chunks) Write(p []byte) (int, error) {
	c.writes++
	return c.Buffer.Write(p)
}

// TestAppendIndented: appendIndented and WriteIndented write what
// json.Indent writes.
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
		if got := appendIndented([]byte("prefix"), src, indent, nil); !bytes.Equal(got, append([]byte("prefix"), want.Bytes()...)) {
			t.Errorf("indenting %q with %q:\ngot  %q\nwant %q", src, indent, got, want.Bytes())
		}
		var w chunks
		if err := WriteIndented(&w, src, indent); err != nil || !bytes.Equal(w.Bytes(), want.Bytes()) {
			t.Errorf("WriteIndented(%q, %q): wrote %q (%v), want %q", src, indent, w.Bytes(), err, want.Bytes())
		}
	}
}

// FuzzAppendIndented: any valid JSON is indented as json.Indent indents
// it; other bytes neither hang nor panic appendIndented.
func FuzzAppendIndented(f *testing.F) {
	for _, src := range indentCases {
		f.Add([]byte(src))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if jsonv1.Valid(src) {
			checkIndented(t, src)
		} else {
			appendIndented(nil, src, "  ", nil) // returns, whatever the bytes
		}
	})
}
