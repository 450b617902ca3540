package controlapi

import (
	"bytes"
	"io"
	"strings"
)

// WriteIndented writes doc, one valid JSON value (checked by the caller),
// to w as json.Indent(w, doc, "", indent) writes it: each element and
// member on its own line, indent once per level, ": " after names, empty
// objects and arrays as {} and [], strings and other values byte for byte.
// It is the indentation alone, written through a small buffer: the
// library's reformatting checked doc again on the way, and built the
// whole indented copy (megabytes for a status of 10,000 peers) before a
// byte of it was written. The tests hold the two to the same bytes.
func WriteIndented(w io.Writer, doc []byte, indent string) error {
	var err error
	buf := make([]byte, 0, 64<<10)
	buf = appendIndented(buf, doc, indent, func(b []byte) []byte {
		if err == nil {
			_, err = w.Write(b)
		}
		return b[:0]
	})
	if err == nil {
		_, err = w.Write(buf)
	}
	return err
}

// appendIndented appends src, indented as WriteIndented writes it, to dst;
// flush, if not nil, is handed dst whenever it holds more than half its
// capacity and returns what to go on appending to. Given bytes that are
// not JSON it returns some other bytes, but returns.
func appendIndented(dst, src []byte, indent string, flush func([]byte) []byte) []byte {
	limit := cap(dst) / 2
	// newline is a line break and the indentation of the deepest level
	// so far; a line break at depth d is its first 1+d*len(indent) bytes.
	newline := []byte("\n" + strings.Repeat(indent, 8))
	depth := 0
	brk := func() {
		n := 1 + depth*len(indent)
		for len(newline) < n {
			newline = append(newline, indent...)
		}
		dst = append(dst, newline[:n]...)
	}
	for i := 0; i < len(src); i++ {
		if flush != nil && len(dst) > limit {
			dst = flush(dst)
		}
		switch c := src[i]; c {
		case ' ', '\t', '\n', '\r':
		case '"':
			j := i + 1
			for {
				k := bytes.IndexByte(src[j:], '"')
				if k < 0 { // not JSON after all: the rest as it is
					return append(dst, src[i:]...)
				}
				if j += k; !escaped(src[i+1 : j]) {
					break
				}
				j++
			}
			dst = append(dst, src[i:j+1]...)
			i = j
		case '{', '[':
			dst = append(dst, c)
			k := i + 1
			for k < len(src) && (src[k] == ' ' || src[k] == '\t' || src[k] == '\n' || src[k] == '\r') {
				k++
			}
			if k < len(src) && (src[k] == '}' || src[k] == ']') {
				dst = append(dst, src[k])
				i = k
				continue
			}
			depth++
			brk()
		case '}', ']':
			depth = max(depth-1, 0) // below 0 only if src is not JSON
			brk()
			dst = append(dst, c)
		case ',':
			dst = append(dst, c)
			brk()
		case ':':
			dst = append(dst, ':', ' ')
		default:
			j := i + 1 // a number or a literal, up to its delimiter
			for j < len(src) && !delimiter(src[j]) {
				j++
			}
			dst = append(dst, src[i:j]...)
			i = j - 1
		}
	}
	return dst
}

// escaped reports whether the quote after s, the text of a string up to
// it, is escaped: preceded by an odd number of backslashes.
func escaped(s []byte) bool {
	n := 0
	for n < len(s) && s[len(s)-1-n] == '\\' {
		n++
	}
	return n%2 == 1
}

// delimiter reports whether c ends a number or a literal.
func delimiter(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', ',', ':', '}', ']':
		return true
	}
	return false
}
