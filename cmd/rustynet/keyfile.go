package main

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"

	"github.com/rustynet/rustynet/cmd/rustynet/internal/keyfile"
	"github.com/rustynet/rustynet/core/config"
)

// keyKind names the two kinds of private key the CLI handles.
type keyKind string

const (
	// kindApprover: an Ed25519 signing key, stored as PKCS#8 PEM.
	kindApprover keyKind = "approver"
	// kindNode: a WireGuard X25519 key, stored exactly as `wg genkey`
	// prints it (standard base64 of 32 clamped bytes, newline).
	kindNode keyKind = "node"
)

// maxKeyFileBytes bounds what readPrivateKey reads: a key file is tiny.
const maxKeyFileBytes = config.MaxKeyFileBytes

// privateKey is a private key of either kind. Every fmt verb prints it
// as "(private key)", so it cannot leak into output or logs by mistake.
type privateKey struct {
	kind     keyKind
	approver ed25519.PrivateKey // kindApprover
	node     *ecdh.PrivateKey   // kindNode
}

// redacted is how a privateKey formats.
const redacted = "(private key)"

// String redacts the key.
func (privateKey) String() string { return redacted }

// GoString redacts the key.
func (privateKey) GoString() string { return redacted }

// Format redacts the key for every verb.
func (privateKey) Format(f fmt.State, _ rune) { io.WriteString(f, redacted) }

// generateKey makes a new private key of kind from rand.
func generateKey(kind keyKind, rand io.Reader) (privateKey, error) {
	switch kind {
	case kindApprover:
		_, priv, err := ed25519.GenerateKey(rand)
		return privateKey{kind: kind, approver: priv}, err
	case kindNode:
		var b [32]byte
		if _, err := io.ReadFull(rand, b[:]); err != nil {
			return privateKey{}, err
		}
		// Clamp as `wg genkey` does, so the file is byte-for-byte what
		// WireGuard tools write (X25519 clamps anyway: same public key).
		b[0] &= 248
		b[31] = b[31]&127 | 64
		priv, err := ecdh.X25519().NewPrivateKey(b[:])
		return privateKey{kind: kind, node: priv}, err
	}
	return privateKey{}, usageErrorf("unknown key kind %q (want approver or node)", kind)
}

// publicBase64 returns the public key in standard base64, the form every
// command prints and takes.
func (k privateKey) publicBase64() string {
	if k.kind == kindApprover {
		return base64.StdEncoding.EncodeToString(k.approver.Public().(ed25519.PublicKey))
	}
	return base64.StdEncoding.EncodeToString(k.node.PublicKey().Bytes())
}

// marshalEncrypted returns the file contents of the approver key k
// encrypted with passphrase (keyfile.EncryptApprover).
func (k privateKey) marshalEncrypted(passphrase []byte) ([]byte, error) {
	return keyfile.EncryptApprover(k.approver, passphrase, rand.Reader)
}

// marshal returns the key file contents (package keyfile).
func (k privateKey) marshal() ([]byte, error) {
	if k.kind == kindApprover {
		return keyfile.Approver(k.approver)
	}
	return keyfile.Node(k.node.Bytes()), nil
}

// parsePrivateKey decodes a key file of either kind: PEM means an approver
// key, anything else must be a WireGuard key. Errors never quote the data.
func parsePrivateKey(data []byte) (privateKey, error) {
	text := bytes.TrimSpace(data)
	if bytes.HasPrefix(text, []byte("-----BEGIN")) {
		return parseApproverPEM(text)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(string(text))
	if err != nil || len(raw) != 32 {
		return privateKey{}, usageErrorf("not a private key file: want an Ed25519 PKCS#8 PEM key or a WireGuard key (32 bytes of base64)")
	}
	priv, err := ecdh.X25519().NewPrivateKey(raw)
	if err != nil {
		return privateKey{}, usageErrorf("not a WireGuard private key: %v", err)
	}
	return privateKey{kind: kindNode, node: priv}, nil
}

// parseApproverPEM decodes a PKCS#8 PEM Ed25519 private key.
func parseApproverPEM(text []byte) (privateKey, error) {
	block, rest := pem.Decode(text)
	if block == nil || block.Type != "PRIVATE KEY" || len(bytes.TrimSpace(rest)) != 0 {
		return privateKey{}, usageErrorf("not a private key file: want exactly one PEM block of type PRIVATE KEY")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return privateKey{}, usageErrorf("not a PKCS#8 private key: %v", err)
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return privateKey{}, usageErrorf("the PEM key is %s, not an Ed25519 approver key", keyAlgorithm(key))
	}
	return privateKey{kind: kindApprover, approver: priv}, nil
}

// keyAlgorithm names the algorithm of a PKCS#8 key that is not Ed25519,
// in words rather than as a Go type.
func keyAlgorithm(key any) string {
	switch key.(type) {
	case *rsa.PrivateKey:
		return "an RSA key"
	case *ecdsa.PrivateKey:
		return "an ECDSA key"
	case *ecdh.PrivateKey:
		return "an ECDH (X25519) key"
	}
	return "of another algorithm"
}

// readPrivateKey reads and decodes the private key file at path. Like ssh,
// it refuses a file that group or others may access (on systems with Unix
// permissions), since such a key must be presumed compromised — encrypted
// or not. An encrypted approver key is opened with the passphrase pf
// gives, asked for only then (see passphrase.go).
func readPrivateKey(e *env, path string, pf *passphraseFlags) (privateKey, error) {
	data, err := readInputWith(path, maxKeyFileBytes, func(info fs.FileInfo) error { return checkPrivateKeyMode(path, info) })
	if err != nil {
		return privateKey{}, err
	}
	if keyfile.IsEncrypted(data) {
		return openEncryptedKey(e, path, data, pf)
	}
	k, err := parsePrivateKey(data)
	if err != nil {
		return privateKey{}, inContext(path, err)
	}
	return k, nil
}
