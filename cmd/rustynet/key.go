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
				args:    "--kind approver|node --out FILE [--force]",
				summary: "generate a private key into FILE (mode 0600) and print its public key",
				help: "Approver keys are Ed25519, stored as PKCS#8 PEM. Node keys are\n" +
					"WireGuard X25519 keys in the format of `wg genkey`, so\n" +
					"`wg pubkey < FILE` prints the same public key.",
				run: runKeyGenerate,
			},
			{
				name:    "public",
				args:    "FILE",
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
}

// runKeyGenerate implements "key generate".
func runKeyGenerate(_ context.Context, e *env, args []string) error {
	fs := e.flagSet()
	kind := fs.String("kind", "", "key `KIND`: approver or node")
	out := fs.String("out", "", "write the private key to `FILE`")
	force := fs.Bool("force", false, "replace FILE if it exists")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	if err := e.require(fs, "kind", "out"); err != nil {
		return err
	}
	if k := keyKind(*kind); k != kindApprover && k != kindNode {
		return e.usagef("--kind must be approver or node, not %q", *kind)
	}
	if err := checkNotExist(*out, *force); err != nil {
		return err
	}
	key, err := generateKey(keyKind(*kind), rand.Reader)
	if err != nil {
		return internalErrorf("generating a key: %v", err)
	}
	data, err := key.marshal()
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
	return e.printKey(keyOutput{Kind: key.kind, PublicKey: key.publicBase64(), File: *out})
}

// runKeyPublic implements "key public".
func runKeyPublic(_ context.Context, e *env, args []string) error {
	fs := e.flagSet()
	pos, err := e.parse(fs, args, 1)
	if err != nil {
		return err
	}
	key, err := readPrivateKey(pos[0])
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
