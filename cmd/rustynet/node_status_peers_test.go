package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/controlapi"
)

// TestStatusPeerDetail prints a status with every peer, with their sum
// (--peers summary) and without them (--peers none).
func TestStatusPeerDetail(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	full := controlapi.Status{
		Node: controlapi.NodeStatus{ID: "n1", NetworkID: "net"},
		Peers: []controlapi.PeerStatus{
			{NodeID: "n2", AllowedIPs: []string{"100.64.0.2/32"}, LastHandshake: now.Add(-time.Minute), RxBytes: 2048, TxBytes: 1024},
			{NodeID: "n3", AllowedIPs: []string{"100.64.0.3/32"}},
		},
	}
	for _, tc := range []struct {
		detail    controlapi.PeerDetail
		want, not []string
	}{
		{controlapi.PeersAll, []string{"PEER", "n2 ", "n3 "}, []string{"peers      "}},
		{controlapi.PeersSummary, []string{"peers      2, 1 with a handshake (latest 1m ago); rx 2.0 KiB, tx 1.0 KiB\n"}, []string{"PEER", "n2 "}},
		{controlapi.PeersNone, []string{"node       n1"}, []string{"PEER", "n2 ", "peers      "}},
	} {
		t.Run(string(tc.detail), func(t *testing.T) {
			var out bytes.Buffer
			printStatusPeers(&env{stdout: &out, now: func() time.Time { return now }}, full.WithPeers(tc.detail), tc.detail)
			for _, want := range tc.want {
				if !strings.Contains(out.String(), want) {
					t.Errorf("status lacks %q:\n%s", want, out.String())
				}
			}
			for _, not := range tc.not {
				if strings.Contains(out.String(), not) {
					t.Errorf("status has %q:\n%s", not, out.String())
				}
			}
		})
	}
}

// TestStatusInterfaceRoutes prints the routes of a status with every
// peer (mesh routes counted, the others listed) and of a summary (host
// routes counted as such, the others listed).
func TestStatusInterfaceRoutes(t *testing.T) {
	routes := []controlapi.RouteStatus{{Prefix: "0.0.0.0/0", Via: "c", Kind: controlapi.RouteExit}, {Prefix: "10.20.0.0/24", Via: "b", Kind: controlapi.RouteSubnet}}
	for _, tc := range []struct {
		name string
		is   controlapi.InterfaceStatus
		want []string
	}{
		{"full", controlapi.InterfaceStatus{Name: "rn0", Routes: append([]controlapi.RouteStatus{{Prefix: "100.64.0.2/32", Via: "b", Kind: controlapi.RouteMesh}}, routes...)},
			[]string{"routes     1 to mesh addresses\n", "  subnet   10.20.0.0/24 via b\n", "  exit     0.0.0.0/0 via c\n"}},
		{"summary", controlapi.InterfaceStatus{Name: "rn0", Routes: routes, HostRoutes: 9999},
			[]string{"routes     9999 host routes (most often to mesh addresses)\n", "  subnet   10.20.0.0/24 via b\n", "  exit     0.0.0.0/0 via c\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			printInterface(&out, &tc.is)
			for _, want := range tc.want {
				if !strings.Contains(out.String(), want) {
					t.Errorf("interface lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}

// TestStatusJSONIsTheDaemonsDocument: `status --json` prints the daemon's
// document indented, byte for byte what encoding the decoded status prints
// (the CLI passes it on without decoding it), for each peer detail.
func TestStatusJSONIsTheDaemonsDocument(t *testing.T) {
	hs := time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.UTC)
	st := controlapi.Status{
		Node:      controlapi.NodeStatus{ID: "n1 <&>", NetworkID: "net"},
		Interface: &controlapi.InterfaceStatus{Name: "rn0", Addresses: []string{"100.64.0.1/32"}, Routes: []controlapi.RouteStatus{{Prefix: "100.64.0.2/32", Via: "n2", Kind: controlapi.RouteMesh}}},
		Peers: []controlapi.PeerStatus{
			{NodeID: "n2", PublicKey: "k2", Endpoint: "192.0.2.2:51820", AllowedIPs: []string{"100.64.0.2/32"}, LastHandshake: hs, RxBytes: 2048, TxBytes: 1024},
			{NodeID: "n3", PublicKey: "k3", AllowedIPs: []string{}},
		},
	}
	sock := serveStatus(t, st)
	for _, detail := range []controlapi.PeerDetail{controlapi.PeersAll, controlapi.PeersSummary, controlapi.PeersNone} {
		t.Run(string(detail), func(t *testing.T) {
			got := mustRun(t, "status", "--json", "--socket", sock, "--peers", string(detail)).stdout
			var want bytes.Buffer
			if err := (&env{stdout: &want}).printJSON(st.WithPeers(detail)); err != nil {
				t.Fatal(err)
			}
			if got != want.String() {
				t.Errorf("status --json printed\n%s\nwant\n%s", got, want.String())
			}
		})
	}
}

// TestWriteColumnsAlignsAsTabwriter: the peers' table is aligned as every
// other table of the CLI (newTable), runes counted, the last column
// unpadded.
func TestWriteColumnsAlignsAsTabwriter(t *testing.T) {
	for _, rows := range [][][]string{
		{{"PEER", "ENDPOINT", "RX"}, {"n2", "192.0.2.2:51820", "2.0 KiB"}, {"nœud-3", "-", "0 B"}},
		{{"a"}, {"bb"}},
		{{"x", ""}, {"", "y"}},
		{},
	} {
		var want, got bytes.Buffer
		tw := newTable(&want)
		for _, r := range rows {
			fmt.Fprintln(tw, strings.Join(r, "\t"))
		}
		tw.Flush()
		if err := writeColumns(&got, rows); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("rows %q:\ngot\n%q\nwant (tabwriter)\n%q", rows, got.String(), want.String())
		}
	}
}
