package fileperm

import (
	"errors"
	"fmt"
	"io/fs"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Enforced reports whether this platform enforces the rule: on Windows,
// as an access control list (CheckACL).
const Enforced = true

// CheckPrivate reports whether path (info from its Lstat) is a private
// entry: a regular file or directory owned by the process's user, SYSTEM
// or Administrators, whose access control list admits nobody else
// (CheckACL). The error is an *Error.
func CheckPrivate(path string, info fs.FileInfo) error {
	if err := checkType(path, info); err != nil {
		return err
	}
	si, err := securityInfo(path)
	if err != nil {
		return err
	}
	self, err := processSID()
	if err != nil {
		return err
	}
	return CheckACL(path, self, si, accountName)
}

// CheckParent reports whether info is a directory. The directories above
// the state (%ProgramData% and the like) keep the access Windows gives
// them; what is private is checked entry by entry.
func CheckParent(path string, info fs.FileInfo) error {
	if !info.IsDir() {
		return errorf(path, "is not a directory")
	}
	return nil
}

// MakePrivate gives path the access control list of PrivateDACL for the
// process's user, protected from inheritance; a directory's entries are
// inherited by what is created in it, so the files the daemon and its
// store create there are private too.
func MakePrivate(path string) error {
	self, err := processSID()
	if err != nil {
		return err
	}
	var entries []windows.EXPLICIT_ACCESS
	for _, a := range PrivateDACL(self) {
		sid, err := windows.StringToSid(a.SID)
		if err != nil {
			return err
		}
		entries = append(entries, windows.EXPLICIT_ACCESS{
			AccessPermissions: windows.ACCESS_MASK(a.Mask),
			AccessMode:        windows.GRANT_ACCESS,
			Inheritance:       windows.SUB_CONTAINERS_AND_OBJECTS_INHERIT,
			Trustee: windows.TRUSTEE{
				TrusteeForm:  windows.TRUSTEE_IS_SID,
				TrusteeType:  windows.TRUSTEE_IS_UNKNOWN,
				TrusteeValue: windows.TrusteeValueFromSID(sid),
			},
		})
	}
	acl, err := windows.ACLFromEntries(entries, nil)
	if err != nil {
		return fmt.Errorf("%s: building its access control list: %w", path, err)
	}
	err = windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, acl, nil)
	if err != nil {
		return &fs.PathError{Op: "setting the access control list of", Path: path, Err: err}
	}
	return nil
}

// securityInfo reads path's owner and DACL.
func securityInfo(path string) (SecurityInfo, error) {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return SecurityInfo{}, &fs.PathError{Op: "reading the access control list of", Path: path, Err: err}
	}
	owner, _, err := sd.Owner()
	if err != nil {
		return SecurityInfo{}, errorf(path, "has no owner to check: %v", err)
	}
	si := SecurityInfo{Owner: owner.String()}
	dacl, _, err := sd.DACL()
	switch {
	case errors.Is(err, windows.ERROR_OBJECT_NOT_FOUND):
		return si, nil // no DACL: open to everyone
	case err != nil:
		return SecurityInfo{}, &fs.PathError{Op: "reading the access control list of", Path: path, Err: err}
	case dacl == nil:
		return si, nil // a NULL DACL: open to everyone
	}
	si.DACLPresent = true
	for i := uint32(0); i < uint32(dacl.AceCount); i++ {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return SecurityInfo{}, &fs.PathError{Op: "reading the access control list of", Path: path, Err: err}
		}
		switch ace.Header.AceType {
		case windows.ACCESS_ALLOWED_ACE_TYPE, windows.ACCESS_DENIED_ACE_TYPE:
			sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
			si.DACL = append(si.DACL, ACE{Allow: ace.Header.AceType == windows.ACCESS_ALLOWED_ACE_TYPE, SID: sid.String(), Mask: uint32(ace.Mask)})
		default:
			// Object and callback entries: treat as allowing whoever they name
			// (the rule errs on the side of refusing).
			si.DACL = append(si.DACL, ACE{Allow: true, SID: fmt.Sprintf("an entry of type %d", ace.Header.AceType), Mask: uint32(ace.Mask)})
		}
	}
	return si, nil
}

// processSID is the SID of the user the process runs as.
func processSID() (string, error) {
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "", fmt.Errorf("reading this process's user: %w", err)
	}
	return tu.User.Sid.String(), nil
}

// accountName names a SID as DOMAIN\account, or "".
func accountName(s string) string {
	sid, err := windows.StringToSid(s)
	if err != nil {
		return ""
	}
	account, domain, _, err := sid.LookupAccount("")
	if err != nil {
		return ""
	}
	if domain == "" {
		return account
	}
	return domain + `\` + account
}
