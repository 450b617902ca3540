package main

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/rustynet/rustynet/internal/fileperm"
)

// keyCommand is the "key" group: approver and node private keys.
func keyCommand() *command {
	return &command{
		name:    "key",
		summary: "generate private keys and show public keys",
		subs: []*command{
			{
				name:    "generate",
				args:    "--kind approver|node [--encrypt [--passphrase-file FILE]] --out FILE [--force]",
				summary: "generate a private key into FILE (mode 0600) and print its public key",
				help: "Approver keys are Ed25519, stored as PKCS#8 PEM. With --encrypt an\n" +
					"approver key is stored encrypted with a passphrase, still PKCS#8\n" +
					"(ENCRYPTED PRIVATE KEY: PBES2, scrypt and AES-256-GCM); every command\n" +
					"that reads it asks for the passphrase: the first line of\n" +
					"--passphrase-file FILE, else $" + passphraseEnv + ", else typed at\n" +
					"the terminal (twice here). A passphrase that does not open a key\n" +
					"is WRONG_PASSPHRASE (exit 2). Node keys are never encrypted: they\n" +
					"are WireGuard X25519 keys in the format of `wg genkey`, so\n" +
					"`wg pubkey < FILE` prints the same public key, and the daemon reads\n" +
					"them unattended.",
				run: runKeyGenerate,
			},
			{
				name:    "public",
				args:    "[--passphrase-file FILE] FILE",
				summary: "print the public key of a private key file of either kind",
				run:     runKeyPublic,
			},
		},
	}
}

// keyOutput is the --json output of the key commands.
type keyOutput struct {
	Kind      keyKind `json:"kind"`
	PublicKey string  `json:"public_key"`
	File      string  `json:"file,omitempty"`
	Encrypted bool    `json:"encrypted,omitempty"` // the file is encrypted with a passphrase
}

// runKeyGenerate implements "key generate".
func runKeyGenerate(_ context.Context, e *env, args []string) error {
	fs := e.flagSet()
	kind := fs.String("kind", "", "key `KIND`: approver or node")
	out := fs.String("out", "", "write the private key to `FILE`")
	force := fs.Bool("force", false, "replace FILE if it exists")
	encrypt := fs.Bool("encrypt", false, "encrypt the approver key with a passphrase")
	pf := addPassphraseFlag(fs, "to encrypt the key with")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	if err := e.require(fs, "kind", "out"); err != nil {
		return err
	}
	if k := keyKind(*kind); k != kindApprover && k != kindNode {
		return e.usagef("--kind must be approver or node, not %q", *kind)
	}
	switch {
	case *encrypt && keyKind(*kind) != kindApprover:
		return e.usagef("--encrypt: only approver keys are encrypted; the daemon reads a node key unattended")
	case pf.file != "" && !*encrypt:
		return e.usagef("--passphrase-file goes with --encrypt")
	}
	if err := checkNotExist(*out, *force); err != nil {
		return err
	}
	key, err := generateKey(keyKind(*kind), rand.Reader)
	if err != nil {
		return internalErrorf("generating a key: %v", err)
	}
	var data []byte
	if *encrypt {
		pass, perr := pf.passphrase(e, "to encrypt "+*out+" with", true)
		if perr != nil {
			return perr
		}
		data, err = key.marshalEncrypted(pass)
		clear(pass)
	} else {
		data, err = key.marshal()
	}
	if err != nil {
		return internalErrorf("encoding the key: %v", err)
	}
	if err := writeNewFile(*out, data, 0o600, *force); err != nil {
		return err
	}
	// Windows: an owner-only access control list (0600 is Unix's).
	if err := fileperm.MakePrivate(*out); err != nil {
		return ioErrorf("restricting %s to its owner: %v", *out, err)
	}
	return e.printKey(keyOutput{Kind: key.kind, PublicKey: key.publicBase64(), File: *out, Encrypted: *encrypt})
}

// runKeyPublic implements "key public".
func runKeyPublic(_ context.Context, e *env, args []string) error {
	fs := e.flagSet()
	pf := addPassphraseFlag(fs, "of an encrypted approver key")
	pos, err := e.parse(fs, args, 1)
	if err != nil {
		return err
	}
	key, err := readPrivateKey(e, pos[0], pf)
	if err != nil {
		return err
	}
	return e.printKey(keyOutput{Kind: key.kind, PublicKey: key.publicBase64()})
}

// printKey prints a public key: one line of base64, or JSON.
func (e *env) printKey(o keyOutput) error {
	if e.json {
		return e.printJSON(o)
	}
	_, err := fmt.Fprintln(e.stdout, o.PublicKey)
	return err
}
