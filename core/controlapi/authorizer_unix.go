//go:build unix

package controlapi

import (
	"fmt"
	"os"
	"os/user"
	"slices"
	"strconv"
)

// NewAuthorizer returns the daemon's Authorizer: it admits root, the
// daemon's own user and, if group is not empty, members of group (a name or
// a numeric gid): peers whose effective or supplementary gid is the group's,
// or whose user the system's group database lists in it.
func NewAuthorizer(group string) (Authorizer, error) {
	a := &groupAuthorizer{self: uint32(os.Getuid()), groupIDs: userGroupIDs}
	if group != "" {
		gid, err := lookupGID(group)
		if err != nil {
			return nil, err
		}
		a.gid, a.hasGroup = gid, true
	}
	return a, nil
}

type groupAuthorizer struct {
	self     uint32 // the daemon's uid
	gid      uint32 // the allowed group, if hasGroup
	hasGroup bool
	// groupIDs returns the gids the group database lists for a uid.
	groupIDs func(uid uint32) ([]string, error)
}

func (a *groupAuthorizer) Authorize(p Peer) error {
	if p.UID == 0 || p.UID == a.self {
		return nil
	}
	if !a.hasGroup {
		return fmt.Errorf("uid %d may not use the control API: only root and uid %d may (set [control] group to admit a group)", p.UID, a.self)
	}
	if p.GID == a.gid || slices.Contains(p.Groups, a.gid) {
		return nil
	}
	ids, err := a.groupIDs(p.UID)
	if err != nil {
		return fmt.Errorf("uid %d may not use the control API: looking up its groups: %v", p.UID, err)
	}
	if slices.Contains(ids, strconv.FormatUint(uint64(a.gid), 10)) {
		return nil
	}
	return fmt.Errorf("uid %d may not use the control API: it is not root, uid %d or a member of gid %d", p.UID, a.self, a.gid)
}

// userGroupIDs returns the gids of uid's groups from the group database.
func userGroupIDs(uid uint32) ([]string, error) {
	u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10))
	if err != nil {
		return nil, err
	}
	return u.GroupIds()
}

// lookupGID resolves a group name, or a numeric gid, to a gid.
func lookupGID(group string) (uint32, error) {
	if n, err := strconv.ParseUint(group, 10, 32); err == nil {
		return uint32(n), nil
	}
	g, err := user.LookupGroup(group)
	if err != nil {
		return 0, fmt.Errorf("control group: %w", err)
	}
	n, err := strconv.ParseUint(g.Gid, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("control group %s has gid %q: %w", group, g.Gid, err)
	}
	return uint32(n), nil
}
