package main

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

// encryptedKeyDir makes the current directory a fresh one holding pw.txt
// (the passphrase "correct horse", mode 0600) and erin.key, an approver
// key encrypted with it, and returns erin's public key. No passphrase is
// in the environment.
func encryptedKeyDir(t *testing.T) string {
	t.Helper()
	t.Chdir(t.TempDir())
	t.Setenv(passphraseEnv, "")
	if err := os.WriteFile("pw.txt", []byte("correct horse\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, "key", "generate", "--kind", "approver", "--encrypt", "--passphrase-file", "pw.txt", "--out", "erin.key")
	return strings.TrimSuffix(r.stdout, "\n")
}

// stubTerminal answers the passphrase prompts with answers, in order, for
// the rest of the test, and records the prompts; with no answers there is
// no terminal.
func stubTerminal(t *testing.T, answers ...string) *[]string {
	t.Helper()
	var prompts []string
	saved := askPassphrase
	askPassphrase = func(e *env, prompt string) ([]byte, bool, error) {
		if len(answers) == 0 {
			return nil, false, nil
		}
		prompts = append(prompts, prompt)
		a := answers[0]
		answers = answers[1:]
		return []byte(a), true, nil
	}
	t.Cleanup(func() { askPassphrase = saved })
	return &prompts
}

func TestEncryptedKeyRoundTrip(t *testing.T) {
	pub := encryptedKeyDir(t)
	data, err := os.ReadFile("erin.key")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "-----BEGIN ENCRYPTED PRIVATE KEY-----\n") {
		t.Errorf("erin.key:\n%s\nwant one ENCRYPTED PRIVATE KEY block", data)
	}
	if info, err := os.Stat("erin.key"); err == nil && runtime.GOOS != "windows" && info.Mode().Perm() != 0o600 {
		t.Errorf("erin.key has mode %#o, want 0600", info.Mode().Perm())
	}
	t.Run("passphrase file", func(t *testing.T) {
		if r := mustRun(t, "key", "public", "--passphrase-file", "pw.txt", "erin.key"); r.stdout != pub+"\n" {
			t.Errorf("got %q, want %q", r.stdout, pub)
		}
	})
	t.Run("environment", func(t *testing.T) {
		t.Setenv(passphraseEnv, "correct horse")
		if r := mustRun(t, "key", "public", "erin.key"); r.stdout != pub+"\n" {
			t.Errorf("got %q, want %q", r.stdout, pub)
		}
	})
	t.Run("terminal", func(t *testing.T) {
		prompts := stubTerminal(t, "correct horse")
		if r := mustRun(t, "key", "public", "erin.key"); r.stdout != pub+"\n" {
			t.Errorf("got %q, want %q", r.stdout, pub)
		}
		if want := []string{"passphrase of erin.key: "}; strings.Join(*prompts, "|") != strings.Join(want, "|") {
			t.Errorf("prompts %q, want %q", *prompts, want)
		}
	})
	t.Run("the file wins over the environment", func(t *testing.T) {
		t.Setenv(passphraseEnv, "wrong")
		mustRun(t, "key", "public", "--passphrase-file", "pw.txt", "erin.key")
	})
	t.Run("generated at the terminal, confirmed", func(t *testing.T) {
		stubTerminal(t, "battery staple", "battery staple")
		mustRun(t, "key", "generate", "--kind", "approver", "--encrypt", "--out", "frank.key")
		t.Setenv(passphraseEnv, "battery staple")
		mustRun(t, "key", "public", "frank.key")
	})
}

func TestEncryptedKeyRefusals(t *testing.T) {
	encryptedKeyDir(t)
	mustWrite := func(t *testing.T, name, text string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(name, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(name, mode); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(t, "wrong.txt", "correct horsf\n", 0o600)
	mustWrite(t, "empty.txt", "\nsecond line\n", 0o600)
	data, err := os.ReadFile("erin.key")
	if err != nil {
		t.Fatal(err)
	}
	// Change one base64 character of the encrypted part (the PEM body's
	// middle), keeping it base64.
	lines := strings.Split(string(data), "\n")
	mid := []byte(lines[2])
	if mid[10] == 'A' {
		mid[10] = 'B'
	} else {
		mid[10] = 'A'
	}
	lines[2] = string(mid)
	mustWrite(t, "tampered.key", strings.Join(lines, "\n"), 0o600)
	mustWrite(t, "open.key", string(data), 0o644)
	mustWrite(t, "open-pw.txt", "correct horse\n", 0o644)
	tests := []struct {
		name     string
		terminal []string
		args     []string
		exit     int
		code     string
		say      string
	}{
		{"wrong passphrase", nil, []string{"key", "public", "--passphrase-file", "wrong.txt", "erin.key"},
			exitUsage, codeWrongPassphrase, "erin.key: the passphrase does not open the key"},
		{"wrong passphrase at the terminal", []string{"nope"}, []string{"key", "public", "erin.key"},
			exitUsage, codeWrongPassphrase, "hint: give the passphrase the key was encrypted with"},
		{"tampered key file", nil, []string{"key", "public", "--passphrase-file", "pw.txt", "tampered.key"},
			exitUsage, "", "tampered.key: "},
		{"no passphrase and no terminal", nil, []string{"key", "public", "erin.key"},
			exitUsage, codeUsage, "there is no terminal to ask on: give --passphrase-file FILE or $" + passphraseEnv},
		{"an empty passphrase line", nil, []string{"key", "public", "--passphrase-file", "empty.txt", "erin.key"},
			exitUsage, codeUsage, "its first line is empty"},
		{"an empty passphrase at the terminal", []string{""}, []string{"key", "public", "erin.key"},
			exitUsage, codeUsage, "must not be empty"},
		{"passphrases that differ", []string{"one", "two"}, []string{"key", "generate", "--kind", "approver", "--encrypt", "--out", "new.key"},
			exitUsage, codeUsage, "the two passphrases differ"},
		{"a node key is never encrypted", nil, []string{"key", "generate", "--kind", "node", "--encrypt", "--passphrase-file", "pw.txt", "--out", "new.key"},
			exitUsage, codeUsage, "only approver keys are encrypted"},
		{"a passphrase file without --encrypt", nil, []string{"key", "generate", "--kind", "approver", "--passphrase-file", "pw.txt", "--out", "new.key"},
			exitUsage, codeUsage, "--passphrase-file goes with --encrypt"},
	}
	if runtime.GOOS != "windows" {
		tests = append(tests,
			struct {
				name     string
				terminal []string
				args     []string
				exit     int
				code     string
				say      string
			}{"an encrypted key others may read", nil, []string{"key", "public", "--passphrase-file", "pw.txt", "open.key"},
				exitUsage, codeUsage, "open.key: private key file has mode 0644"},
			struct {
				name     string
				terminal []string
				args     []string
				exit     int
				code     string
				say      string
			}{"a passphrase file others may read", nil, []string{"key", "public", "--passphrase-file", "open-pw.txt", "erin.key"},
				exitUsage, codeUsage, "open-pw.txt: passphrase file has mode 0644"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stubTerminal(t, tt.terminal...)
			before := snapshot(t, ".")
			r := runCLI(t, tt.args...)
			if r.exit != tt.exit || (tt.code != "" && !strings.HasPrefix(r.stderr, "error: "+tt.code+": ")) || !strings.Contains(r.stderr, tt.say) {
				t.Errorf("got exit %d\n%s\nwant exit %d, code %q, saying %q", r.exit, r.stderr, tt.exit, tt.code, tt.say)
			}
			if r.stdout != "" {
				t.Errorf("printed %q", r.stdout)
			}
			assertUnchanged(t, ".", before)
		})
	}
}

func TestSignUpdateWithAnEncryptedKey(t *testing.T) {
	pub := encryptedKeyDir(t)
	mustRun(t, "key", "generate", "--kind", "approver", "--out", "gina.key") // unencrypted keys keep working beside it
	gina := strings.TrimSuffix(mustRun(t, "key", "public", "gina.key").stdout, "\n")
	mustRun(t, "membership", "init", "--network-id", "enc", "--threshold", "2",
		"--approver", "erin="+pub+":owner", "--approver", "gina="+gina, "--out", "genesis.json")

	if err := os.WriteFile("wrong.txt", []byte("nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, ".")
	r := runCLI(t, "membership", "sign-update", "--key", "erin.key", "genesis.json")
	if r.exit != exitUsage || !strings.Contains(r.stderr, "there is no terminal to ask on") {
		t.Errorf("without a passphrase: exit %d\n%s", r.exit, r.stderr)
	}
	r = runCLI(t, "membership", "sign-update", "--key", "erin.key", "--passphrase-file", "wrong.txt", "genesis.json")
	if r.exit != exitUsage || !strings.HasPrefix(r.stderr, "error: WRONG_PASSPHRASE: erin.key: ") {
		t.Errorf("wrong passphrase: exit %d\n%s", r.exit, r.stderr)
	}
	assertUnchanged(t, ".", before)

	r = mustRun(t, "membership", "sign-update", "--key", "erin.key", "--passphrase-file", "pw.txt", "genesis.json")
	if !strings.Contains(r.stdout, "signed genesis.json as "+pub) {
		t.Errorf("got %q, want it signed as erin", r.stdout)
	}
	mustRun(t, "membership", "sign-update", "--key", "gina.key", "genesis.json")
	if r := mustRun(t, "membership", "verify-update", "genesis.json"); !strings.Contains(r.stdout, "erin") {
		t.Errorf("verify-update does not name erin's signature:\n%s", r.stdout)
	}
}
