package fileperm

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	alice = "S-1-5-21-1-2-3-1001"
	users = "S-1-5-32-545"
)

func TestCheckACL(t *testing.T) {
	full := uint32(0x1F01FF)
	names := map[string]string{users: `BUILTIN\Users`, alice: `HOST\alice`}
	tests := []struct {
		name    string
		si      SecurityInfo
		wantErr string // "" = accepted
	}{
		{"what PrivateDACL makes", SecurityInfo{Owner: alice, DACLPresent: true, DACL: PrivateDACL(alice)}, ""},
		{"owned by Administrators (an elevated process)", SecurityInfo{Owner: SIDAdministrators, DACLPresent: true, DACL: PrivateDACL(SIDAdministrators)}, ""},
		{"owned by SYSTEM (the service)", SecurityInfo{Owner: SIDSystem, DACLPresent: true, DACL: PrivateDACL(SIDSystem)}, ""},
		{"empty DACL: owner only", SecurityInfo{Owner: alice, DACLPresent: true}, ""},
		{"a deny entry for others only narrows", SecurityInfo{Owner: alice, DACLPresent: true, DACL: append(PrivateDACL(alice), ACE{SID: users, Mask: full})}, ""},
		{"creator owner", SecurityInfo{Owner: alice, DACLPresent: true, DACL: append(PrivateDACL(alice), ACE{Allow: true, SID: SIDCreatorOwner, Mask: full})}, ""},
		{"an allow entry granting nothing", SecurityInfo{Owner: alice, DACLPresent: true, DACL: append(PrivateDACL(alice), ACE{Allow: true, SID: users})}, ""},
		{"no DACL", SecurityInfo{Owner: alice}, "has no access control list, so everyone may access it"},
		{"users may read", SecurityInfo{Owner: alice, DACLPresent: true, DACL: append(PrivateDACL(alice), ACE{Allow: true, SID: users, Mask: 0x120089})},
			`lets S-1-5-32-545 (BUILTIN\Users) access it; want access for its owner, SYSTEM and Administrators only (run: icacls`},
		{"owned by another user", SecurityInfo{Owner: "S-1-5-21-1-2-3-1002", DACLPresent: true, DACL: PrivateDACL("S-1-5-21-1-2-3-1002")},
			`is owned by S-1-5-21-1-2-3-1002, not by S-1-5-21-1-2-3-1001 (HOST\alice) (the user this process runs as), SYSTEM or Administrators`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckACL(`C:\ProgramData\rustynet\state`, alice, tt.si, func(s string) string { return names[s] })
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("got %v, want accepted", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
			}
			var fe *Error
			if !errors.As(err, &fe) || !errors.Is(err, fs.ErrPermission) || !strings.HasPrefix(err.Error(), `C:\ProgramData\rustynet\state `) {
				t.Errorf("got %T %v, want an *Error naming the path that is fs.ErrPermission", err, err)
			}
		})
	}
}

func TestPrivateDACL(t *testing.T) {
	full := uint32(0x1F01FF)
	tests := []struct {
		owner string
		want  []ACE
	}{
		{alice, []ACE{{true, alice, full}, {true, SIDSystem, full}, {true, SIDAdministrators, full}}},
		{SIDSystem, []ACE{{true, SIDSystem, full}, {true, SIDAdministrators, full}}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, PrivateDACL(tt.owner)); diff != "" {
			t.Errorf("PrivateDACL(%s) (-want +got):\n%s", tt.owner, diff)
		}
	}
}
