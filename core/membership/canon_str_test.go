package membership

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// referenceStr is canonWriter.str as first written, one byte or UTF-8
// sequence at a time: the rule (JCS: escape '"', '\\' and control
// characters, short forms where JSON has them, else lower-case \u00xx)
// without the copying of runs.
func referenceStr(s string) string {
	const hex = "0123456789abcdef"
	b := []byte{'"'}
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			_, n := utf8.DecodeRuneInString(s[i:])
			b = append(b, s[i:i+n]...)
			i += n
			continue
		}
		switch {
		case c == '"':
			b = append(b, '\\', '"')
		case c == '\\':
			b = append(b, '\\', '\\')
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
		i++
	}
	return string(append(b, '"'))
}

// TestCanonStrMatchesReference: every byte, alone, between runs and next
// to another, and strings of mixed runs, are written as the reference
// writes them.
func TestCanonStrMatchesReference(t *testing.T) {
	var inputs []string
	for c := range 256 {
		b := string([]byte{byte(c)})
		inputs = append(inputs, b, "ab"+b+"cd", b+b, b+"\"", "\\"+b)
	}
	inputs = append(inputs, "", "plain", "é ü 世界 🙂", "a\"b\\c\nd\x00e\x1ff\x7fg", strings.Repeat("x\t", 100), "\xff\xfe invalid")
	for _, s := range inputs {
		var w canonWriter
		w.str(s)
		if got, want := string(w.b), referenceStr(s); got != want {
			t.Errorf("str(%q) = %s, want %s", s, got, want)
		}
	}
}
