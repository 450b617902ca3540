package main

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestKeyGenerateApprover checks the approver key file format and mode.
func TestKeyGenerateApprover(t *testing.T) {
	t.Chdir(t.TempDir())
	r := mustRun(t, "key", "generate", "--kind", "approver", "--out", "a.key")
	data := readFile(t, "a.key")
	checkPrivateMode(t, "a.key")
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" || len(rest) != 0 {
		t.Fatalf("a.key is not exactly one PEM PRIVATE KEY block:\n%s", data)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		t.Fatalf("a.key holds a %T, want ed25519.PrivateKey", key)
	}
	wantPub := base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey))
	if r.stdout != wantPub+"\n" || r.stderr != "" {
		t.Errorf("output: got stdout %q stderr %q, want stdout %q and no stderr", r.stdout, r.stderr, wantPub+"\n")
	}
	assertNoSecret(t, r, base64.StdEncoding.EncodeToString(priv.Seed()), string(block.Bytes))
	if got := mustRun(t, "key", "public", "a.key").stdout; got != wantPub+"\n" {
		t.Errorf("key public: got %q, want %q", got, wantPub+"\n")
	}
}

// TestKeyGenerateNode checks that node keys are in `wg genkey` format and
// that `wg pubkey` agrees with us.
func TestKeyGenerateNode(t *testing.T) {
	t.Chdir(t.TempDir())
	r := mustRun(t, "key", "generate", "--kind", "node", "--out", "n.key")
	data := readFile(t, "n.key")
	checkPrivateMode(t, "n.key")
	text := strings.TrimSuffix(string(data), "\n")
	raw, err := base64.StdEncoding.Strict().DecodeString(text)
	if err != nil || len(raw) != 32 || string(data) != text+"\n" {
		t.Fatalf("n.key is not one line of base64 of 32 bytes: %q", data)
	}
	if raw[0]&7 != 0 || raw[31]&128 != 0 || raw[31]&64 == 0 {
		t.Errorf("n.key is not clamped as `wg genkey` clamps: first byte %#x, last byte %#x", raw[0], raw[31])
	}
	priv, err := ecdh.X25519().NewPrivateKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	wantPub := base64.StdEncoding.EncodeToString(priv.PublicKey().Bytes())
	if r.stdout != wantPub+"\n" || r.stderr != "" {
		t.Errorf("output: got stdout %q stderr %q, want stdout %q and no stderr", r.stdout, r.stderr, wantPub+"\n")
	}
	assertNoSecret(t, r, text)
	if got := mustRun(t, "key", "public", "n.key").stdout; got != wantPub+"\n" {
		t.Errorf("key public: got %q, want %q", got, wantPub+"\n")
	}
	wg, err := exec.LookPath("wg")
	if err != nil {
		t.Logf("not comparing with `wg pubkey`: wg is not installed (apt-get install wireguard-tools)")
		return
	}
	if got := wgPubkey(t, wg, data); got != wantPub {
		t.Errorf("wg pubkey: got %q, want %q", got, wantPub)
	}
}

// TestKeyPublicJSON checks the --json output and kind detection.
func TestKeyPublicJSON(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, kind := range []keyKind{kindApprover, kindNode} {
		pub := strings.TrimSpace(mustRun(t, "key", "generate", "--kind", string(kind), "--out", string(kind)+".key").stdout)
		var got keyOutput
		r := mustRun(t, "--json", "key", "public", string(kind)+".key")
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
			t.Fatalf("%s: %v\n%s", kind, err, r.stdout)
		}
		if diff := cmp.Diff(keyOutput{Kind: kind, PublicKey: pub}, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", kind, diff)
		}
	}
}

// TestKeyGenerateForce checks that --force replaces an existing key file.
func TestKeyGenerateForce(t *testing.T) {
	t.Chdir(t.TempDir())
	first := mustRun(t, "key", "generate", "--kind", "node", "--out", "n.key").stdout
	second := mustRun(t, "key", "generate", "--kind", "node", "--out", "n.key", "--force").stdout
	if first == second {
		t.Errorf("--force: public key unchanged (%q); the file was not replaced", first)
	}
	if got := mustRun(t, "key", "public", "n.key").stdout; got != second {
		t.Errorf("key public after --force: got %q, want %q", got, second)
	}
	checkPrivateMode(t, "n.key")
}

// wgPubkey runs `wg pubkey` on a private key file's contents.
func wgPubkey(t *testing.T, wg string, priv []byte) string {
	t.Helper()
	cmd := exec.Command(wg, "pubkey")
	cmd.Stdin = bytes.NewReader(priv)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("wg pubkey: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// assertNoSecret fails if any secret appears in the command's output.
func assertNoSecret(t *testing.T, r result, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(r.stdout, s) || strings.Contains(r.stderr, s) {
			t.Errorf("private key material appears in the output")
		}
	}
}

// checkPrivateMode checks that a private key file is 0600.
func checkPrivateMode(t *testing.T, path string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		return // permission bits carry no access control there
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != 0o600 {
		t.Errorf("%s: mode %#o, want 0600", path, got)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestPrivateKeyRedacted checks that formatting a private key by mistake,
// with any verb, prints only the redaction.
func TestPrivateKeyRedacted(t *testing.T) {
	for _, kind := range []keyKind{kindApprover, kindNode} {
		k, err := generateKey(kind, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprintf("%v|%+v|%#v|%s|%q|%x|%d", k, k, k, k, k, k, k)
		if want := strings.Repeat(redacted+"|", 6) + redacted; got != want {
			t.Errorf("%s: got %q, want %q", kind, got, want)
		}
	}
}
