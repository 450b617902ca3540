package hostapi

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"strings"
)

// verifySHA256 checks that the file at path has the hex SHA-256 want.
func verifySHA256(path, want string) error {
	want = strings.ToLower(strings.TrimSpace(want))
	if b, err := hex.DecodeString(want); err != nil || len(b) != sha256.Size {
		return Errorf(CodeInvalidArgument, "plugin %s: SHA-256 pin %q is not %d hex digits", path, want, 2*sha256.Size)
	}
	got, err := FileSHA256(path)
	if err != nil {
		return Errorf(CodePermission, "plugin %s: cannot hash executable: %v", path, err)
	}
	if got != want {
		return Errorf(CodePermission, "plugin %s: SHA-256 mismatch: expected %s, actual %s; refusing to launch", path, want, got)
	}
	return nil
}

// FileSHA256 returns the hex SHA-256 of the file at path, in lower case:
// the form LaunchConfig.SHA256 pins an executable with.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
