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
	a.selfName = strconv.FormatUint(uint64(a.self), 10)
	if u, err := user.LookupId(a.selfName); err == nil {
		a.selfName = u.Username
	}
	if group != "" {
		gid, err := lookupGID(group)
		if err != nil {
			return nil, err
		}
		a.gid, a.hasGroup, a.groupName = gid, true, group
		if g, err := user.LookupGroupId(strconv.FormatUint(uint64(gid), 10)); err == nil {
			a.groupName = g.Name
		}
	}
	return a, nil
}

type groupAuthorizer struct {
	self      uint32 // the daemon's uid
	selfName  string
	gid       uint32 // the allowed group, if hasGroup
	groupName string
	hasGroup  bool
	// groupIDs returns the gids the group database lists for a uid.
	groupIDs func(uid uint32) ([]string, error)
}

func (a *groupAuthorizer) Authorize(p Peer) error {
	if p.UID == 0 || p.UID == a.self {
		return nil
	}
	if !a.hasGroup {
		return fmt.Errorf("uid %d may not use the control API: %s (set [control] group to admit a group)", p.UID, a.whoMay())
	}
	if p.GID == a.gid || slices.Contains(p.Groups, a.gid) {
		return nil
	}
	ids, err := a.groupIDs(p.UID)
	if err != nil {
		return fmt.Errorf("uid %d may not use the control API: %s, and its groups cannot be looked up: %v", p.UID, a.whoMay(), err)
	}
	if slices.Contains(ids, strconv.FormatUint(uint64(a.gid), 10)) {
		return nil
	}
	return fmt.Errorf("uid %d may not use the control API: %s", p.UID, a.whoMay())
}

// whoMay says who may use the API: root, the daemon's own user (unless
// that is root) and the configured group's members.
func (a *groupAuthorizer) whoMay() string {
	who := []string{"root"}
	if a.self != 0 {
		who = append(who, fmt.Sprintf("the daemon's user %s (uid %d)", a.selfName, a.self))
	}
	if a.hasGroup {
		who = append(who, fmt.Sprintf("members of group %s (gid %d)", a.groupName, a.gid))
	}
	switch len(who) {
	case 1:
		return "only root may"
	case 2:
		return "only " + who[0] + " and " + who[1] + " may"
	default:
		return "only " + who[0] + ", " + who[1] + " and " + who[2] + " may"
	}
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
