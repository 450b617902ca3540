package main

import (
	"context"
	"fmt"
)

// signCommand is "membership sign-update".
func signCommand() *command {
	return &command{
		name:    "sign-update",
		args:    "--key FILE UPDATE",
		summary: "add your approver signature to an update file, in place",
		help: "Signing checks only that the key has not signed UPDATE yet: it does not\n" +
			"consult any membership. Review UPDATE with verify-update first.",
		run: runSign,
	}
}

// signOutput is what sign-update prints.
type signOutput struct {
	File       string `json:"file"`
	PublicKey  string `json:"public_key"` // of the signature just added
	Signatures int    `json:"signatures"` // on the update now
}

// runSign implements "membership sign-update".
func runSign(_ context.Context, e *env, args []string) error {
	fs := e.flagSet()
	keyFile := fs.String("key", "", "the approver private key `FILE`")
	pos, err := e.parse(fs, args, 1)
	if err != nil {
		return err
	}
	if err := e.require(fs, "key"); err != nil {
		return err
	}
	key, err := readPrivateKey(*keyFile)
	if err != nil {
		return err
	}
	if key.kind != kindApprover {
		return e.usagef("%s is a node key; updates are signed with approver keys", *keyFile)
	}
	u, raw, err := readUpdate(pos[0])
	if err != nil {
		return err
	}
	if err := u.Sign(key.approver); err != nil {
		return rejected("", err)
	}
	if err := rewriteFile(pos[0], raw, u.Encode()); err != nil {
		return err
	}
	o := signOutput{File: pos[0], PublicKey: key.publicBase64(), Signatures: len(u.Signatures)}
	if e.json {
		return e.printJSON(o)
	}
	fmt.Fprintf(e.stdout, "signed %s as %s (%d signature(s) now)\n", o.File, o.PublicKey, o.Signatures)
	return nil
}
