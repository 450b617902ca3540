//go:build unix

package config

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/inputfile"
)

// node is a configuration directory with valid files.
type node struct {
	dir, path string
	key       hostapi.PrivateKey
}

func newNode(t *testing.T) *node {
	t.Helper()
	n := &node{dir: t.TempDir()}
	n.path = filepath.Join(n.dir, "node.toml")
	if _, err := rand.Read(n.key[:]); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(n.dir, "n1.key"), n.key.Base64()+"\n", 0o600)
	writeFile(t, filepath.Join(n.dir, "genesis.json"), "{}", 0o644)
	return n
}

// load writes lines after the base configuration and loads it.
func (n *node) load(t *testing.T, lines ...string) (*Config, int) {
	t.Helper()
	text, offset := doc(lines...)
	writeFile(t, n.path, text, 0o644)
	c, err := Load(n.path)
	if err != nil {
		t.Fatal(err)
	}
	return c, offset
}

func TestValidate(t *testing.T) {
	root, err := user.LookupGroupId("0")
	if err != nil {
		t.Fatalf("looking up gid 0: %v", err)
	}
	tests := []struct {
		name    string
		setup   func(t *testing.T, n *node)
		lines   []string
		key     string // "" = valid
		line    int    // within lines; 0 = not in lines
		msgPart string
	}{
		{name: "valid"},
		{name: "valid with plugins, feed and group",
			setup: func(t *testing.T, n *node) {
				writeFile(t, filepath.Join(n.dir, "store"), "#!/bin/sh\n", 0o755)
				if err := os.Mkdir(filepath.Join(n.dir, "feed"), 0o755); err != nil {
					t.Fatal(err)
				}
			},
			lines: []string{`store.plugin = "store"`, `membership.feed = "feed"`, `control.group = "` + root.Name + `"`}},
		{name: "numeric group", lines: []string{`control.group = "4242"`}},
		{name: "key readable by others", setup: func(t *testing.T, n *node) { chmod(t, filepath.Join(n.dir, "n1.key"), 0o644) },
			key: "node.private_key_file", msgPart: "has mode 0644"},
		{name: "key group-writable", setup: func(t *testing.T, n *node) { chmod(t, filepath.Join(n.dir, "n1.key"), 0o620) },
			key: "node.private_key_file", msgPart: "must be 0600"},
		{name: "key missing", lines: []string{`node.private_key_file = "other.key"`},
			key: "node.private_key_file", line: 1, msgPart: "no such file"},
		{name: "key is a directory", setup: func(t *testing.T, n *node) { mkdir(t, filepath.Join(n.dir, "d.key")) }, lines: []string{`node.private_key_file = "d.key"`},
			key: "node.private_key_file", line: 1, msgPart: "not a regular file"},
		{name: "genesis missing", lines: []string{`membership.genesis_file = "nope.json"`},
			key: "membership.genesis_file", line: 1, msgPart: "no such file"},
		{name: "store plugin missing", lines: []string{`[store]`, `plugin = "bin/store"`},
			key: "store.plugin", line: 2, msgPart: "no such file"},
		{name: "backend plugin is a directory", setup: func(t *testing.T, n *node) { mkdir(t, filepath.Join(n.dir, "bin")) }, lines: []string{`[backend]`, `plugin = "bin"`},
			key: "backend.plugin", line: 2, msgPart: "not a regular file"},
		{name: "feed is a file", lines: []string{`membership.feed = "genesis.json"`},
			key: "membership.feed", line: 1, msgPart: "not a directory"},
		{name: "group unknown", lines: []string{`[control]`, `group = "no-such-group-rustynet"`},
			key: "control.group", line: 2, msgPart: "no-such-group-rustynet"},
		{name: "proxy password file", setup: func(t *testing.T, n *node) { writeFile(t, filepath.Join(n.dir, "proxy.pw"), "pw\n", 0o600) },
			lines: []string{`[proxy]`, `username = "u"`, `password_file = "proxy.pw"`}},
		{name: "proxy password file readable by others", setup: func(t *testing.T, n *node) { writeFile(t, filepath.Join(n.dir, "proxy.pw"), "pw\n", 0o644) },
			lines: []string{`[proxy]`, `username = "u"`, `password_file = "proxy.pw"`}, key: "proxy.password_file", line: 3, msgPart: "has mode 0644, so others may access it; it must be 0600"},
		{name: "proxy password file missing", lines: []string{`[proxy]`, `username = "u"`, `password_file = "proxy.pw"`},
			key: "proxy.password_file", line: 3, msgPart: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNode(t)
			if tt.setup != nil {
				tt.setup(t, n)
			}
			c, offset := n.load(t, tt.lines...)
			err := c.Validate()
			if tt.key == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			e := asError(t, err)
			wantLine := 0
			if tt.line > 0 {
				wantLine = offset + tt.line
			} else {
				wantLine = lineOf(t, n.path, strings.TrimPrefix(tt.key, "node."))
			}
			if e.File != n.path || e.Key != tt.key || e.Line != wantLine || !strings.Contains(e.Msg, tt.msgPart) {
				t.Errorf("got %q, want %s:%d: %s: …%s…", err, n.path, wantLine, tt.key, tt.msgPart)
			}
		})
	}
}

func TestReadPrivateKey(t *testing.T) {
	t.Run("valid", func(t *testing.T) {
		n := newNode(t)
		c, _ := n.load(t)
		k, err := c.ReadPrivateKey()
		if err != nil {
			t.Fatal(err)
		}
		if k != n.key {
			t.Errorf("got a different key than the file holds")
		}
	})
	t.Run("not a key, and the content is not echoed", func(t *testing.T) {
		n := newNode(t)
		secret := base64.StdEncoding.EncodeToString([]byte("sixteen byte sec"))
		writeFile(t, filepath.Join(n.dir, "n1.key"), secret, 0o600)
		c, _ := n.load(t)
		_, err := c.ReadPrivateKey()
		e := asError(t, err)
		if e.Key != "node.private_key_file" || !strings.Contains(e.Msg, "does not hold a WireGuard private key") || strings.Contains(err.Error(), secret) {
			t.Errorf("got %q, want a node.private_key_file error without the file's content", err)
		}
	})
	t.Run("far too large", func(t *testing.T) {
		n := newNode(t)
		if err := os.Truncate(filepath.Join(n.dir, "n1.key"), 1<<30); err != nil { // sparse
			t.Fatal(err)
		}
		c, _ := n.load(t)
		_, err := c.ReadPrivateKey()
		if e := asError(t, err); e.Key != "node.private_key_file" || !strings.Contains(e.Msg, inputfile.ErrTooLarge.Error()) {
			t.Errorf("got %v, want a node.private_key_file error: too large", err)
		}
	})
	t.Run("mode", func(t *testing.T) {
		n := newNode(t)
		chmod(t, filepath.Join(n.dir, "n1.key"), 0o640)
		c, _ := n.load(t)
		if _, err := c.ReadPrivateKey(); err == nil || !strings.Contains(err.Error(), "must be 0600") {
			t.Errorf("got %v, want a mode error", err)
		}
	})
}

func TestReadProxyPassword(t *testing.T) {
	const secret = "correct horse: battery staple"
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		want    string
		msgPart string // "": no error
	}{
		{"one line", secret + "\n", 0o600, secret, ""},
		{"no final newline", secret, 0o600, secret, ""},
		{"CRLF", secret + "\r\n", 0o400, secret, ""},
		{"readable by others", secret + "\n", 0o640, "", "must be 0600"},
		{"empty", "\n", 0o600, "", "proxy password: empty"},
		{"two lines", secret + "\nsecond\n", 0o600, "", "has a control character"},
		{"too long", strings.Repeat("p", 256), 0o600, "", "longer than 255 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNode(t)
			writeFile(t, filepath.Join(n.dir, "proxy.pw"), tt.content, tt.mode)
			c, _ := n.load(t, `[proxy]`, `username = "alice"`, `password_file = "proxy.pw"`)
			got, err := c.ProxyConfig()
			if tt.msgPart != "" {
				e := asError(t, err)
				if e.Key != "proxy.password_file" || !strings.Contains(e.Msg, tt.msgPart) || strings.Contains(err.Error(), "horse") {
					t.Errorf("got %q, want a proxy.password_file error …%s… without the file's content", err, tt.msgPart)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Auth == nil || *got.Auth != (hostapi.ProxyAuth{Username: "alice", Password: tt.want}) {
				t.Errorf("got credentials %v, want alice and the file's line", got.Auth)
			}
		})
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, path string) {
	t.Helper()
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
}

// lineOf returns the line of the file that sets key (dotted form).
func lineOf(t *testing.T, path, key string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, key+" =") {
			return i + 1
		}
	}
	t.Fatalf("%s does not set %s", path, key)
	return 0
}

// TestCheck checks that Check reports the problems of the text and of the
// files it names together, in the order of the file, and each key once.
func TestCheck(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, n *node)
		lines []string
		want  []string // "line: key: message part", lines within lines; 0 = a line of the base
	}{
		{name: "valid"},
		{name: "text and files",
			setup: func(t *testing.T, n *node) { chmod(t, filepath.Join(n.dir, "n1.key"), 0o644) },
			lines: []string{`node.id = "N1"`, `membership.genesis_file = "nope.json"`, `log.level = "loud"`},
			want: []string{
				`0: node.private_key_file: has mode 0644`,
				`1: node.id: is not a node id`,
				`2: membership.genesis_file: nope.json: no such file or directory`,
				`3: log.level: is not one of`,
			}},
		{name: "a key the text refuses is not checked again",
			lines: []string{`node.private_key_file = 5`, `membership.genesis_file = "nope.json"`},
			want: []string{
				`1: node.private_key_file: must be a string, not an integer`,
				`2: membership.genesis_file: no such file or directory`,
			}},
		{name: "a syntax error ends the check",
			lines: []string{`membership.genesis_file = "nope.json"`, `[log`},
			want:  []string{`2: : table name`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNode(t)
			if tt.setup != nil {
				tt.setup(t, n)
			}
			text, offset := doc(tt.lines...)
			writeFile(t, n.path, text, 0o644)
			c, err := Check(n.path)
			if tt.want == nil {
				if err != nil || c == nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			var list ErrorList
			if !errors.As(err, &list) || c != nil {
				t.Fatalf("got %v, %v (%T), want no configuration and an ErrorList", c, err, err)
			}
			if len(list) != len(tt.want) {
				t.Errorf("got %d problems, want %d:\n%v", len(list), len(tt.want), err)
			}
			for i, e := range list[:min(len(list), len(tt.want))] {
				lineKey, part, _ := strings.Cut(tt.want[i], ": ")
				line, _ := strconv.Atoi(lineKey)
				key, part, _ := strings.Cut(part, ": ")
				if line > 0 {
					line += offset
				} else {
					line = lineOf(t, n.path, strings.TrimPrefix(key, "node."))
				}
				if e.File != n.path || e.Line != line || e.Key != key || !strings.Contains(e.Msg, part) {
					t.Errorf("problem %d: got %q, want %s:%d: %s: …%s…", i, e, n.path, line, key, part)
				}
			}
		})
	}
}
