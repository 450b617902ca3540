package main

import (
	"bytes"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/term"

	"github.com/rustynet/rustynet/cmd/rustynet/internal/keyfile"
)

// This file reads the passphrase of an encrypted approver key and opens
// such a key. The passphrase never comes from a flag's value (it would
// show in the process list and the shell's history): it is read from
// --passphrase-file FILE, else $RUSTYNET_KEY_PASSPHRASE, else asked on
// the terminal.

// passphraseEnv holds the passphrase of encrypted approver keys when no
// --passphrase-file names one.
const passphraseEnv = "RUSTYNET_KEY_PASSPHRASE"

// maxPassphraseBytes bounds a passphrase file.
const maxPassphraseBytes = 4 << 10

// wrongPassphraseHint is the next step after WRONG_PASSPHRASE.
const wrongPassphraseHint = hintPrefix + "give the passphrase the key was encrypted with: --passphrase-file FILE, $" + passphraseEnv + ", or at the prompt on a terminal"

// passphraseFlags is --passphrase-file.
type passphraseFlags struct{ file string }

// addPassphraseFlag defines --passphrase-file on fs.
func addPassphraseFlag(fs *flag.FlagSet, what string) *passphraseFlags {
	p := &passphraseFlags{}
	fs.StringVar(&p.file, "passphrase-file", "", "read the passphrase "+what+" from the first line of `FILE` (mode 0600; default: $"+passphraseEnv+", else asked on the terminal)")
	return p
}

// askPassphrase asks for a passphrase on the terminal that stdin is, with
// prompt on stderr and no echo; ok is false when stdin is no terminal.
// Tests replace it.
var askPassphrase = func(e *env, prompt string) (pass []byte, ok bool, err error) {
	f, isFile := e.stdin.(*os.File)
	if !isFile || !term.IsTerminal(int(f.Fd())) {
		return nil, false, nil
	}
	fmt.Fprint(e.stderr, prompt)
	pass, err = term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.stderr)
	return pass, true, err
}

// passphrase returns the passphrase for what (e.g. "of alice.key"): the
// first line of --passphrase-file, else $RUSTYNET_KEY_PASSPHRASE, else
// one typed at the terminal — twice if confirm (a new key). An empty one
// is a usage error, and so is having no terminal to ask on.
func (p *passphraseFlags) passphrase(e *env, what string, confirm bool) ([]byte, error) {
	if p.file != "" {
		data, err := readInputWith(p.file, maxPassphraseBytes, func(info fs.FileInfo) error { return checkSecretMode(p.file, "passphrase file", info) })
		if err != nil {
			return nil, err
		}
		line, _, _ := bytes.Cut(data, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			return nil, usageErrorf("--passphrase-file %s: its first line is empty; a passphrase must not be", p.file)
		}
		return line, nil
	}
	if v := os.Getenv(passphraseEnv); v != "" {
		return []byte(v), nil
	}
	pass, ok, err := askPassphrase(e, "passphrase "+what+": ")
	switch {
	case err != nil:
		return nil, ioErrorf("%s", joinContext("reading the passphrase from the terminal", err.Error()))
	case !ok:
		return nil, usageErrorf("a passphrase %s is needed and there is no terminal to ask on: give --passphrase-file FILE or $%s", what, passphraseEnv)
	case len(pass) == 0:
		return nil, usageErrorf("an empty passphrase %s: a passphrase must not be empty", what)
	}
	if confirm {
		again, _, err := askPassphrase(e, "the same passphrase again: ")
		if err != nil {
			return nil, ioErrorf("%s", joinContext("reading the passphrase from the terminal", err.Error()))
		}
		defer clear(again)
		if !bytes.Equal(pass, again) {
			clear(pass)
			return nil, usageErrorf("the two passphrases differ; nothing was written")
		}
	}
	return pass, nil
}

// openEncryptedKey decrypts the encrypted approver key file data, read
// from path, with the passphrase pf gives. A passphrase that does not
// open it is WRONG_PASSPHRASE; a file that is not such a key, USAGE.
func openEncryptedKey(e *env, path string, data []byte, pf *passphraseFlags) (privateKey, error) {
	block, rest := pem.Decode(bytes.TrimSpace(data))
	if block == nil || len(bytes.TrimSpace(rest)) != 0 {
		return privateKey{}, usageErrorf("%s", joinContext(path, "not a private key file: want exactly one PEM block of type ENCRYPTED PRIVATE KEY"))
	}
	pass, err := pf.passphrase(e, "of "+path, false)
	if err != nil {
		return privateKey{}, err
	}
	defer clear(pass)
	priv, err := keyfile.DecryptApprover(block.Bytes, pass)
	switch {
	case errors.Is(err, keyfile.ErrWrongPassphrase):
		return privateKey{}, &cliError{code: codeWrongPassphrase, exit: exitUsage, msg: joinContext(path, err.Error()), hint: wrongPassphraseHint}
	case err != nil:
		return privateKey{}, usageErrorf("%s", joinContext(path, "not an encrypted approver key: "+err.Error()))
	}
	return privateKey{kind: kindApprover, approver: priv}, nil
}
