package fileperm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// TestMakePrivateAndCheck runs where Windows runs: a directory made
// private passes, and so does a file created in it (it inherits the
// entries); a file granting Users read access is refused.
func TestMakePrivateAndCheck(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := MakePrivate(dir); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "key")
	if err := os.WriteFile(f, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, f} {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckPrivate(p, fi); err != nil {
			t.Errorf("CheckPrivate(%s): %v", p, err)
		}
	}
	users, _ := windows.StringToSid("S-1-5-32-545")
	acl, err := windows.ACLFromEntries([]windows.EXPLICIT_ACCESS{{AccessPermissions: windows.GENERIC_READ, AccessMode: windows.GRANT_ACCESS,
		Trustee: windows.TRUSTEE{TrusteeForm: windows.TRUSTEE_IS_SID, TrusteeType: windows.TRUSTEE_IS_GROUP, TrusteeValue: windows.TrusteeValueFromSID(users)}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := windows.SetNamedSecurityInfo(f, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION, nil, nil, acl, nil); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Lstat(f)
	if err := CheckPrivate(f, fi); err == nil || !strings.Contains(err.Error(), "S-1-5-32-545") {
		t.Errorf("a file Users may read: got %v, want it refused naming Users", err)
	}
}
