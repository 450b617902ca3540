package hostapi

import (
	"encoding/base64"
	"fmt"
)

// KeyLen is the length of a Curve25519 key.
const KeyLen = 32

// Key is a WireGuard (Curve25519) public key. Its text form is standard
// base64, as printed by `wg pubkey`.
type Key [KeyLen]byte

// ParseKey decodes a base64 key as printed by `wg pubkey`.
func ParseKey(s string) (Key, error) {
	var k Key
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != KeyLen {
		return k, Errorf(CodeInvalidArgument, "invalid key %q: want %d bytes of standard base64", s, KeyLen)
	}
	copy(k[:], b)
	return k, nil
}

// String returns the key in standard base64.
func (k Key) String() string { return base64.StdEncoding.EncodeToString(k[:]) }

// IsZero reports whether k is all zeroes (never a valid public key).
func (k Key) IsZero() bool { return k == Key{} }

// PrivateKey is a WireGuard private key. It never prints itself: String and
// every fmt verb give "(private key)", so it cannot leak into logs.
type PrivateKey [KeyLen]byte

// ParsePrivateKey decodes a base64 private key as written by `wg genkey`.
func ParsePrivateKey(s string) (PrivateKey, error) {
	k, err := ParseKey(s)
	if err != nil {
		return PrivateKey{}, Errorf(CodeInvalidArgument, "invalid private key: want %d bytes of standard base64", KeyLen)
	}
	return PrivateKey(k), nil
}

// String redacts the key.
func (PrivateKey) String() string { return "(private key)" }

// GoString redacts the key.
func (PrivateKey) GoString() string { return "(private key)" }

// Format redacts the key for every verb.
func (PrivateKey) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte("(private key)")) }

// Base64 returns the key in standard base64 for configuration files and
// wire formats; callers must not log the result.
func (k PrivateKey) Base64() string { return base64.StdEncoding.EncodeToString(k[:]) }

// IsZero reports whether k is all zeroes.
func (k PrivateKey) IsZero() bool { return k == PrivateKey{} }
