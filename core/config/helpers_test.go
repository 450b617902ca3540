package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testRoot is a valid genesis root for the base configuration.
var testRoot = strings.Repeat("ab", 32)

// baseLines are the required keys, as dotted keys so that they can precede
// any table a test adds.
var baseLines = []string{
	`node.id = "n1"`,
	`node.private_key_file = "n1.key"`,
	`membership.genesis_file = "genesis.json"`,
	`membership.genesis_root = "` + testRoot + `"`,
}

// doc returns a configuration of the required keys not set by lines, then
// lines, and the number of lines before the first of lines.
func doc(lines ...string) (string, int) {
	var out []string
	for _, b := range baseLines {
		key, _, _ := strings.Cut(b, " =")
		overridden := false
		for _, l := range lines {
			if strings.HasPrefix(l, key+" =") {
				overridden = true
			}
		}
		if !overridden {
			out = append(out, b)
		}
	}
	offset := len(out)
	return strings.Join(append(out, lines...), "\n") + "\n", offset
}

// parse parses lines after the base configuration, in /etc/rn.
func parse(t *testing.T, lines ...string) (*Config, error) {
	t.Helper()
	text, _ := doc(lines...)
	return Parse([]byte(text), "node.toml", "/etc/rn")
}

// mustParse is parse that fails the test on error.
func mustParse(t *testing.T, lines ...string) *Config {
	t.Helper()
	c, err := parse(t, lines...)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

// asError returns err as *Error or fails the test.
func asError(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got error %v (%T), want *Error", err, err)
	}
	return e
}

// lines numbers a document for failure messages.
func numbered(text string) string {
	var b strings.Builder
	for i, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		fmt.Fprintf(&b, "%3d| %s\n", i+1, l)
	}
	return b.String()
}

var cmpAddrs = cmp.Options{
	cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
}
