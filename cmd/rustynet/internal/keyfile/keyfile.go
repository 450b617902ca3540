// Package keyfile holds the formats of the private key files rustynet
// writes: an approver key is an Ed25519 key in PKCS#8 PEM — or, encrypted
// with a passphrase, PKCS#8's encrypted private key structure (RFC 5958)
// in PEM (see EncryptApprover) — and a node key a WireGuard X25519 key exactly as `wg
// genkey` prints it. `rustynet key
// generate` and the demo write their keys through it, so a key file
// either makes is one every command reads.
package keyfile

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
)

// Approver returns the file contents of the approver key priv: one PEM
// block of type PRIVATE KEY holding its PKCS#8 encoding.
func Approver(priv ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPlain, Bytes: der}), nil
}

// Node returns the file contents of the node key priv, the 32 bytes of an
// X25519 private key: their standard base64 and a newline.
func Node(priv []byte) []byte {
	return []byte(base64.StdEncoding.EncodeToString(priv) + "\n")
}
