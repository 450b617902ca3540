//go:build unix

package controlapi

import (
	"errors"
	"os"
	"os/user"
	"testing"
)

func TestGroupAuthorizer(t *testing.T) {
	const self, gid = 1000, 4242
	lookup := map[uint32][]string{2000: {"2000", "4242"}, 3000: {"3000"}}
	groupIDs := func(uid uint32) ([]string, error) {
		ids, ok := lookup[uid]
		if !ok {
			return nil, errors.New("unknown user")
		}
		return ids, nil
	}
	tests := []struct {
		name     string
		hasGroup bool
		peer     Peer
		want     bool
	}{
		{"root", false, Peer{UID: 0, GID: 5}, true},
		{"own uid", false, Peer{UID: self, GID: 5}, true},
		{"other uid without a group configured", false, Peer{UID: 2000, GID: gid}, false},
		{"effective gid", true, Peer{UID: 3000, GID: gid}, true},
		{"supplementary gid reported by the kernel", true, Peer{UID: 3000, GID: 3000, Groups: []uint32{7, gid}}, true},
		{"member in the group database", true, Peer{UID: 2000, GID: 2000}, true},
		{"not a member", true, Peer{UID: 3000, GID: 3000, Groups: []uint32{7}}, false},
		{"unknown user", true, Peer{UID: 9999, GID: 9999}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &groupAuthorizer{self: self, gid: gid, hasGroup: tt.hasGroup, groupIDs: groupIDs}
			err := a.Authorize(tt.peer)
			if got := err == nil; got != tt.want {
				t.Errorf("got %v, want admitted=%v", err, tt.want)
			}
		})
	}
}

func TestNewAuthorizer(t *testing.T) {
	tests := []struct {
		name    string
		group   string
		wantErr bool
		gid     uint32
	}{
		{"no group", "", false, 0},
		{"numeric gid", "4242", false, 4242},
		{"group by name", rootGroupName(t), false, 0},
		{"unknown group", "no-such-group-rustynet", true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := NewAuthorizer(tt.group)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			ga := a.(*groupAuthorizer)
			if ga.self != uint32(os.Getuid()) || ga.hasGroup != (tt.group != "") || ga.gid != tt.gid {
				t.Errorf("got %+v, want self %d, group %q (gid %d)", ga, os.Getuid(), tt.group, tt.gid)
			}
		})
	}
}

// rootGroupName returns the name of gid 0.
func rootGroupName(t *testing.T) string {
	t.Helper()
	g, err := user.LookupGroupId("0")
	if err != nil {
		t.Fatalf("looking up gid 0: %v", err)
	}
	return g.Name
}

// TestRefusalNamesWhoMay checks that a refusal names exactly who may use
// the API: root, the daemon's user unless that is root, and the group if
// one is configured.
func TestRefusalNamesWhoMay(t *testing.T) {
	none := func(uint32) ([]string, error) { return nil, nil }
	tests := []struct {
		name string
		a    *groupAuthorizer
		want string
	}{
		{"daemon runs as root", &groupAuthorizer{self: 0, selfName: "root", groupIDs: none},
			"uid 3000 may not use the control API: only root may (set [control] group to admit a group)"},
		{"daemon runs as a user", &groupAuthorizer{self: 1000, selfName: "rustynet", groupIDs: none},
			"uid 3000 may not use the control API: only root and the daemon's user rustynet (uid 1000) may (set [control] group to admit a group)"},
		{"daemon as root with a group", &groupAuthorizer{self: 0, selfName: "root", gid: 4242, groupName: "netops", hasGroup: true, groupIDs: none},
			"uid 3000 may not use the control API: only root and members of group netops (gid 4242) may"},
		{"daemon as a user with a group", &groupAuthorizer{self: 1000, selfName: "rustynet", gid: 4242, groupName: "netops", hasGroup: true, groupIDs: none},
			"uid 3000 may not use the control API: only root, the daemon's user rustynet (uid 1000) and members of group netops (gid 4242) may"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.a.Authorize(Peer{UID: 3000, GID: 3000})
			if err == nil || err.Error() != tt.want {
				t.Errorf("got %v\nwant %s", err, tt.want)
			}
		})
	}
}
