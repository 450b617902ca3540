package fileperm

import (
	"fmt"
	"slices"
	"strings"
)

// The Windows rule, which Windows' CheckPrivate applies to the security
// descriptor it reads (fileperm_windows.go). It is here, on every
// platform, so that it is tested everywhere.

// Well-known security identifiers.
const (
	SIDSystem         = "S-1-5-18"     // NT AUTHORITY\SYSTEM: services run as it
	SIDAdministrators = "S-1-5-32-544" // BUILTIN\Administrators: an elevated administrator owns what it creates as this group
	SIDCreatorOwner   = "S-1-3-0"      // CREATOR OWNER: an inheritable entry for whoever owns a child
)

// ACE is one entry of a discretionary access control list, reduced to
// what the rule looks at.
type ACE struct {
	Allow bool   // an access-allowed entry (else access-denied, which only narrows access)
	SID   string // the trustee, e.g. "S-1-5-32-545"
	Mask  uint32 // the access it grants or denies; zero grants nothing
}

// SecurityInfo is the part of an entry's security descriptor the rule
// looks at.
type SecurityInfo struct {
	Owner       string // the owner's SID
	DACLPresent bool   // false: no DACL at all, which gives everyone full access
	DACL        []ACE  // empty with DACLPresent: nobody but the owner's implicit rights
}

// CheckACL applies the Windows rule to path's security info: it must be
// owned by self (the process's user), SYSTEM or Administrators, and its
// DACL must allow nobody but its owner, self, SYSTEM and Administrators
// (and CREATOR OWNER, which stands for a child's owner). name describes a
// SID for the error ("BUILTIN\Users"), or returns "". The error is an
// *Error.
func CheckACL(path, self string, si SecurityInfo, name func(sid string) string) error {
	trusted := []string{self, SIDSystem, SIDAdministrators}
	if !slices.Contains(trusted, si.Owner) {
		return errorf(path, "is owned by %s, not by %s (the user this process runs as), SYSTEM or Administrators; refusing to trust it (run as Administrator: icacls \"%s\" /setowner *%s)",
			describeSID(si.Owner, name), describeSID(self, name), path, SIDAdministrators)
	}
	if !si.DACLPresent {
		return errorf(path, "has no access control list, so everyone may access it; want access for its owner, SYSTEM and Administrators only (%s)", icaclsHint(path))
	}
	allowed := append(trusted, si.Owner, SIDCreatorOwner)
	var open []string
	for _, a := range si.DACL {
		if a.Allow && a.Mask != 0 && !slices.Contains(allowed, a.SID) && !slices.Contains(open, a.SID) {
			open = append(open, a.SID)
		}
	}
	if len(open) > 0 {
		names := make([]string, len(open))
		for i, s := range open {
			names[i] = describeSID(s, name)
		}
		return errorf(path, "has an access control list that lets %s access it; want access for its owner, SYSTEM and Administrators only (%s)",
			strings.Join(names, ", "), icaclsHint(path))
	}
	return nil
}

// PrivateDACL is the access control list the daemon gives a private file
// or directory: full control for owner, SYSTEM and Administrators, and
// nobody else; a directory's entries are inherited by what is created in
// it. The list is protected: nothing is inherited from the parent.
func PrivateDACL(owner string) []ACE {
	const fullControl = 0x1F01FF // FILE_ALL_ACCESS
	out := []ACE{{Allow: true, SID: owner, Mask: fullControl}}
	for _, s := range []string{SIDSystem, SIDAdministrators} {
		if s != owner {
			out = append(out, ACE{Allow: true, SID: s, Mask: fullControl})
		}
	}
	return out
}

func describeSID(sid string, name func(string) string) string {
	if name != nil {
		if n := name(sid); n != "" {
			return fmt.Sprintf("%s (%s)", sid, n)
		}
	}
	return sid
}

func icaclsHint(path string) string {
	return fmt.Sprintf(`run: icacls "%s" /inheritance:r /grant:r *%s:F *%s:F "%%USERNAME%%:F"`, path, SIDSystem, SIDAdministrators)
}
