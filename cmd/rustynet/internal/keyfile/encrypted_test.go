package keyfile

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
)

// testKey is a fixed approver key.
var testKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

// encrypted returns testKey encrypted with passphrase and its DER. The
// tampering test tries hundreds of files: their scrypt is made cheap.
func encrypted(t *testing.T, passphrase string, n int) (file, der []byte) {
	t.Helper()
	file, err := encryptApprover(testKey, []byte(passphrase), rand.Reader, n)
	if err != nil {
		t.Fatal(err)
	}
	block, rest := pem.Decode(file)
	if block == nil || block.Type != "ENCRYPTED PRIVATE KEY" || len(rest) != 0 {
		t.Fatalf("not one ENCRYPTED PRIVATE KEY block:\n%s", file)
	}
	return file, block.Bytes
}

func TestEncryptedApproverRoundTrip(t *testing.T) {
	file, der := encrypted(t, "correct horse", ScryptN)
	if !IsEncrypted(file) {
		t.Errorf("IsEncrypted = false for an encrypted key")
	}
	plain, err := Approver(testKey)
	if err != nil {
		t.Fatal(err)
	}
	if IsEncrypted(plain) {
		t.Errorf("IsEncrypted = true for an unencrypted key")
	}
	if bytes.Contains(der, testKey.Seed()) {
		t.Errorf("the encrypted file holds the key's seed in the clear")
	}
	got, err := DecryptApprover(der, []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(testKey) {
		t.Errorf("decrypted another key")
	}
	// Salt and nonce are fresh each time.
	if _, der2 := encrypted(t, "correct horse", 1<<4); bytes.Equal(der, der2) {
		t.Errorf("two encryptions of one key with one passphrase are identical")
	}
	if _, err := EncryptApprover(testKey, nil, rand.Reader); err == nil {
		t.Errorf("an empty passphrase was accepted")
	}
}

func TestEncryptedApproverRefusesWrongPassphraseAndTampering(t *testing.T) {
	_, der := encrypted(t, "correct horse", 1<<4)
	if _, err := DecryptApprover(der, []byte("correct horsf")); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("wrong passphrase: got %v, want ErrWrongPassphrase", err)
	}
	if _, err := DecryptApprover(der, nil); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("no passphrase: got %v, want ErrWrongPassphrase", err)
	}
	// Every single-bit change anywhere in the file either fails to parse
	// or fails to open: none yields a key.
	for i := range der {
		for _, bit := range []byte{0x01, 0x80} {
			bad := bytes.Clone(der)
			bad[i] ^= bit
			if k, err := DecryptApprover(bad, []byte("correct horse")); err == nil {
				t.Fatalf("byte %d ^ %#x: opened to a key (equal to the original: %v)", i, bit, k.Equal(testKey))
			}
		}
	}
	if _, err := DecryptApprover(der[:len(der)-1], []byte("correct horse")); err == nil {
		t.Errorf("a truncated file opened")
	}
}

func TestEncryptedApproverBoundsTheKDF(t *testing.T) {
	_, der := encrypted(t, "pw", 1<<4)
	tests := []struct {
		name string
		edit func(*scryptParams)
		want string
	}{
		{"memory beyond the bound", func(p *scryptParams) { p.CostParameter = 1 << 22 }, "need more than 256 MiB"},
		{"N not a power of 2", func(p *scryptParams) { p.CostParameter = 3 << 10 }, "power of 2"},
		{"parallelization beyond the bound", func(p *scryptParams) { p.ParallelizationParameter = 1 << 20 }, "p from 1 to 16"},
		{"short salt", func(p *scryptParams) { p.Salt = p.Salt[:4] }, "salt"},
		{"another key length", func(p *scryptParams) { p.KeyLength = 16 }, "AES-256 takes 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecryptApprover(withScrypt(t, der, tt.edit), []byte("pw"))
			if err == nil || errors.Is(err, ErrWrongPassphrase) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error saying %q", err, tt.want)
			}
		})
	}
}

// withScrypt returns der with its scrypt parameters changed by edit.
func withScrypt(t *testing.T, der []byte, edit func(*scryptParams)) []byte {
	t.Helper()
	var info encryptedPrivateKeyInfo
	var params pbes2Params
	var kdf scryptParams
	if _, err := asn1.Unmarshal(der, &info); err != nil {
		t.Fatal(err)
	}
	if _, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &params); err != nil {
		t.Fatal(err)
	}
	if _, err := asn1.Unmarshal(params.KeyDerivationFunc.Parameters.FullBytes, &kdf); err != nil {
		t.Fatal(err)
	}
	edit(&kdf)
	kdfDER, err := asn1.Marshal(kdf)
	if err != nil {
		t.Fatal(err)
	}
	params.KeyDerivationFunc.Parameters = asn1.RawValue{FullBytes: kdfDER}
	paramsDER, err := asn1.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	info.Algorithm.Parameters = asn1.RawValue{FullBytes: paramsDER}
	out, err := asn1.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
