package keyfile

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/scrypt"
)

// An encrypted approver key stays PKCS#8: the file is one PEM block of
// type ENCRYPTED PRIVATE KEY holding an EncryptedPrivateKeyInfo (RFC 5958
// §3), encrypted with PBES2 (RFC 8018 §6.2) from the passphrase:
//
//	keyDerivationFunc  scrypt (RFC 7914 §7), OID 1.3.6.1.4.1.11591.4.11:
//	                   a random 16-byte salt, N = 2^15, r = 8, p = 1, key length 32
//	encryptionScheme   AES-256-GCM (RFC 5084), OID 2.16.840.1.101.3.4.1.46:
//	                   a random 12-byte nonce, a 16-byte tag appended to the ciphertext
//	encryptedData      AES-256-GCM of the key's unencrypted PKCS#8 encoding
//
// GCM authenticates what it decrypts: a wrong passphrase, and a file
// changed anywhere in its salt, parameters, nonce, ciphertext or tag,
// both fail to open it (ErrWrongPassphrase) rather than yield another
// key. Reading bounds scrypt's cost (MaxScryptMemory) so that a crafted
// file cannot make a command allocate without limit.

// Parameters of the keys EncryptApprover writes.
const (
	ScryptN       = 1 << 15
	ScryptR       = 8
	ScryptP       = 1
	saltBytes     = 16
	nonceBytes    = 12
	tagBytes      = 16
	aes256KeySize = 32
)

// MaxScryptMemory bounds scrypt's memory (128·r·N bytes) for a key being
// read; MaxScryptP its parallelization.
const (
	MaxScryptMemory = 256 << 20
	MaxScryptP      = 16
)

// PEM block types of approver key files.
const (
	pemPlain     = "PRIVATE KEY"
	pemEncrypted = "ENCRYPTED PRIVATE KEY"
)

// ErrWrongPassphrase: the passphrase does not open the key — it is not
// the one the key was encrypted with, or the file was altered.
var ErrWrongPassphrase = errors.New("the passphrase does not open the key (a wrong passphrase, or a file altered since it was written)")

var (
	oidPBES2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidScrypt    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11591, 4, 11}
	oidAES256GCM = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 46}
)

type encryptedPrivateKeyInfo struct {
	Algorithm     pkix.AlgorithmIdentifier
	EncryptedData []byte
}

type pbes2Params struct {
	KeyDerivationFunc pkix.AlgorithmIdentifier
	EncryptionScheme  pkix.AlgorithmIdentifier
}

type scryptParams struct {
	Salt                     []byte
	CostParameter            int
	BlockSize                int
	ParallelizationParameter int
	KeyLength                int `asn1:"optional"`
}

type gcmParams struct {
	Nonce  []byte
	ICVLen int `asn1:"optional,default:12"`
}

// IsEncrypted reports whether data is an encrypted approver key file (a
// PEM block of type ENCRYPTED PRIVATE KEY), without decrypting it.
func IsEncrypted(data []byte) bool {
	block, _ := pem.Decode(data)
	return block != nil && block.Type == pemEncrypted
}

// EncryptApprover returns the file contents of the approver key priv
// encrypted with passphrase (see the format above), with salt and nonce
// from rand. passphrase must not be empty.
func EncryptApprover(priv ed25519.PrivateKey, passphrase []byte, rnd io.Reader) ([]byte, error) {
	return encryptApprover(priv, passphrase, rnd, ScryptN)
}

// encryptApprover is EncryptApprover with scrypt's N (tests make cheap
// keys).
func encryptApprover(priv ed25519.PrivateKey, passphrase []byte, rnd io.Reader, n int) ([]byte, error) {
	if len(passphrase) == 0 {
		return nil, errors.New("empty passphrase")
	}
	plain, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	salt := make([]byte, saltBytes)
	nonce := make([]byte, nonceBytes)
	if _, err := io.ReadFull(rnd, salt); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(rnd, nonce); err != nil {
		return nil, err
	}
	kdf := scryptParams{Salt: salt, CostParameter: n, BlockSize: ScryptR, ParallelizationParameter: ScryptP, KeyLength: aes256KeySize}
	aead, err := newAEAD(passphrase, kdf, tagBytes)
	if err != nil {
		return nil, err
	}
	der, err := marshalInfo(kdf, gcmParams{Nonce: nonce, ICVLen: tagBytes}, aead.Seal(nil, nonce, plain, nil))
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemEncrypted, Bytes: der}), nil
}

// marshalInfo returns the DER of the EncryptedPrivateKeyInfo of
// encryptedData under PBES2 with scrypt kdf and AES-256-GCM gcm.
func marshalInfo(kdf scryptParams, gcm gcmParams, encryptedData []byte) ([]byte, error) {
	kdfDER, err := asn1.Marshal(kdf)
	if err != nil {
		return nil, err
	}
	gcmDER, err := asn1.Marshal(gcm)
	if err != nil {
		return nil, err
	}
	paramsDER, err := asn1.Marshal(pbes2Params{
		KeyDerivationFunc: pkix.AlgorithmIdentifier{Algorithm: oidScrypt, Parameters: asn1.RawValue{FullBytes: kdfDER}},
		EncryptionScheme:  pkix.AlgorithmIdentifier{Algorithm: oidAES256GCM, Parameters: asn1.RawValue{FullBytes: gcmDER}},
	})
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(encryptedPrivateKeyInfo{
		Algorithm:     pkix.AlgorithmIdentifier{Algorithm: oidPBES2, Parameters: asn1.RawValue{FullBytes: paramsDER}},
		EncryptedData: encryptedData,
	})
}

// DecryptApprover opens the encrypted approver key whose PEM block holds
// der (an EncryptedPrivateKeyInfo) with passphrase. It fails with
// ErrWrongPassphrase if the passphrase does not open it; with another
// error, naming what is wrong, if der is not an encrypted key of the
// format above, its parameters are out of bounds, or what it holds is not
// an Ed25519 key.
func DecryptApprover(der, passphrase []byte) (ed25519.PrivateKey, error) {
	var info encryptedPrivateKeyInfo
	if rest, err := asn1.Unmarshal(der, &info); err != nil || len(rest) != 0 {
		return nil, errors.New("not an encrypted PKCS#8 key")
	}
	if !info.Algorithm.Algorithm.Equal(oidPBES2) {
		return nil, fmt.Errorf("encrypted with %v, not PBES2", info.Algorithm.Algorithm)
	}
	var params pbes2Params
	if rest, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &params); err != nil || len(rest) != 0 {
		return nil, errors.New("malformed PBES2 parameters")
	}
	if !params.KeyDerivationFunc.Algorithm.Equal(oidScrypt) {
		return nil, fmt.Errorf("its key is derived with %v, not scrypt", params.KeyDerivationFunc.Algorithm)
	}
	if !params.EncryptionScheme.Algorithm.Equal(oidAES256GCM) {
		return nil, fmt.Errorf("encrypted with %v, not AES-256-GCM", params.EncryptionScheme.Algorithm)
	}
	var kdf scryptParams
	if rest, err := asn1.Unmarshal(params.KeyDerivationFunc.Parameters.FullBytes, &kdf); err != nil || len(rest) != 0 {
		return nil, errors.New("malformed scrypt parameters")
	}
	if err := checkScrypt(kdf); err != nil {
		return nil, err
	}
	var gcm gcmParams
	if rest, err := asn1.Unmarshal(params.EncryptionScheme.Parameters.FullBytes, &gcm); err != nil || len(rest) != 0 {
		return nil, errors.New("malformed AES-GCM parameters")
	}
	if len(gcm.Nonce) != nonceBytes || gcm.ICVLen < 12 || gcm.ICVLen > 16 {
		return nil, fmt.Errorf("AES-GCM with a %d-byte nonce and a %d-byte tag: want a 12-byte nonce and a tag of 12 to 16 bytes", len(gcm.Nonce), gcm.ICVLen)
	}
	// encoding/asn1 reads leniently (trailing elements, an empty
	// optional integer); only the one DER encoding of what was read is
	// accepted, so that no change to the file goes unnoticed.
	if again, err := marshalInfo(kdf, gcm, info.EncryptedData); err != nil || !bytes.Equal(again, der) {
		return nil, errors.New("not in the DER encoding of an encrypted PKCS#8 key (altered?)")
	}
	aead, err := newAEAD(passphrase, kdf, gcm.ICVLen)
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, gcm.Nonce, info.EncryptedData, nil)
	if err != nil {
		return nil, ErrWrongPassphrase
	}
	key, err := x509.ParsePKCS8PrivateKey(plain)
	if err != nil {
		return nil, fmt.Errorf("the decrypted key is not PKCS#8: %v", err)
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, errors.New("the decrypted key is not an Ed25519 key")
	}
	return priv, nil
}

// checkScrypt bounds the cost of deriving the key of p.
func checkScrypt(p scryptParams) error {
	n, r := p.CostParameter, p.BlockSize
	switch {
	case len(p.Salt) < 8 || len(p.Salt) > 64:
		return fmt.Errorf("a %d-byte scrypt salt: want 8 to 64 bytes", len(p.Salt))
	case n < 2 || n&(n-1) != 0 || r < 1 || p.ParallelizationParameter < 1 || p.ParallelizationParameter > MaxScryptP:
		return fmt.Errorf("scrypt parameters N=%d r=%d p=%d: want N a power of 2, r ≥ 1, p from 1 to %d", n, r, p.ParallelizationParameter, MaxScryptP)
	case int64(n)*int64(r) > MaxScryptMemory/128:
		return fmt.Errorf("scrypt parameters N=%d r=%d need more than %d MiB", n, r, MaxScryptMemory>>20)
	case p.KeyLength != 0 && p.KeyLength != aes256KeySize:
		return fmt.Errorf("a %d-byte derived key: AES-256 takes %d", p.KeyLength, aes256KeySize)
	}
	return nil
}

// newAEAD derives the AES-256 key from passphrase by p and returns its
// GCM with a tag of tagSize bytes.
func newAEAD(passphrase []byte, p scryptParams, tagSize int) (cipher.AEAD, error) {
	key, err := scrypt.Key(passphrase, p.Salt, p.CostParameter, p.BlockSize, p.ParallelizationParameter, aes256KeySize)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithTagSize(block, tagSize)
}
