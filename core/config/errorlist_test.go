package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestEveryProblemIsReported checks that Parse reports every problem of a
// text at once, in the order of the text, each with its line.
func TestEveryProblemIsReported(t *testing.T) {
	tests := []struct {
		name string
		text []string
		want []string // "line: key: message" of each problem, in order
	}{
		{
			name: "six mistakes",
			text: []string{
				`colour = "blue"`,
				`[node]`,
				`id = "N1"`,
				`private_key_file = "n1.key"`,
				``,
				`[membership]`,
				`genesis_file = "genesis.json"`,
				`feed_interval = 5`,
				``,
				`[backend]`,
				`mtu = 1000`,
				``,
				`[log]`,
				`Level = "debug"`,
			},
			want: []string{
				`1: colour: unknown key`,
				`3: node.id: "N1" is not a node id: 1–63 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit`,
				`6: membership.genesis_root: required key is missing`,
				`8: membership.feed_interval: must be a string, not an integer`,
				`11: backend.mtu: 1000 is below 1280, the least IPv6 needs (0 means 1420)`,
				`14: log.Level: unknown key (keys are case-sensitive: log.level)`,
			},
		},
		{
			name: "in the elements of an array of tables",
			text: []string{
				`node.id = "n1"`,
				`node.private_key_file = "n1.key"`,
				`membership.genesis_file = "genesis.json"`,
				`membership.genesis_root = "` + testRoot + `"`,
				`[[proxy.forward]]`,
				`listen = "127.0.0.1:1"`,
				`target = "nowhere"`,
				`[[proxy.forward]]`,
				`listen = "127.0.0.1:2"`,
				`[[proxy.forward]]`,
				`proto = "sctp"`,
				`listen = "127.0.0.1:3"`,
				`target = "100.64.0.2:1"`,
				`retries = 3`,
			},
			want: []string{
				`7: proxy.forward.target: "nowhere" has no port: want name:port, such as n2:80, or IP:port`,
				`8: proxy.forward.target: required key is missing`,
				`11: proxy.forward.proto: "sctp" is not one of tcp, udp`,
				`14: proxy.forward.retries: unknown key`,
			},
		},
		{
			name: "lines unknown last",
			text: []string{`[log]`, `level = "loud"`},
			want: []string{
				`2: log.level: "loud" is not one of debug, info, warn, error`,
				`0: node.id: required key is missing`,
				`0: node.private_key_file: required key is missing`,
				`0: membership.genesis_root: required key is missing`,
				`0: membership.genesis_file: required key is missing`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := strings.Join(tt.text, "\n") + "\n"
			_, err := Parse([]byte(text), "node.toml", "/etc/rn")
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("got %v (%T), want an ErrorList\n%s", err, err, numbered(text))
			}
			var got []string
			for _, e := range list {
				if e.File != "node.toml" {
					t.Errorf("%v: got file %q, want node.toml", e, e.File)
				}
				got = append(got, fmt.Sprintf("%d: %s: %s", e.Line, e.Key, e.Msg))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("got … want (-want +got):\n%s\n%s", diff, numbered(text))
			}
		})
	}
}

// TestErrorList checks how a list prints and unwraps.
func TestErrorList(t *testing.T) {
	first := &Error{File: "a.toml", Line: 2, Key: "log.level", Msg: "bad"}
	second := &Error{File: "a.toml", Key: "node.id", Msg: "required key is missing"}
	tests := []struct {
		name string
		list ErrorList
		want string
	}{
		{"one problem prints as itself", ErrorList{first}, "a.toml:2: log.level: bad"},
		{"one line each", ErrorList{first, second}, "a.toml:2: log.level: bad\na.toml: node.id: required key is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error = tt.list
			if got := err.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) || e != first {
				t.Errorf("errors.As found %v, want the first problem %v", e, first)
			}
			if !errors.Is(err, tt.list[len(tt.list)-1]) {
				t.Errorf("errors.Is does not find the last problem")
			}
		})
	}
}
