package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/controlapi"
)

// TestStatusShowsProxies prints a netstack node's listeners: where each
// listens, and whether its clients must authenticate, in text and JSON.
func TestStatusShowsProxies(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	st := controlapi.Status{
		Node:    controlapi.NodeStatus{ID: "n1", NetworkID: "net", PublicKey: "cHVi"},
		Health:  controlapi.HealthStatus{State: controlapi.HealthOK},
		Backend: controlapi.BackendStatus{Name: "netstack", Plugin: controlapi.PluginStatus{Name: "netstack", State: "running"}},
		Store:   controlapi.PluginStatus{Name: "store-file", State: "running"},
		Interface: &controlapi.InterfaceStatus{Name: "netstack", ListenPort: 51820, Addresses: []string{"100.64.0.1/32"}, Proxies: []controlapi.ProxyStatus{
			{Kind: "socks5", Listen: "192.168.1.10:1080", Auth: true},
			{Kind: "http", Listen: "127.0.0.1:3128"},
			{Kind: "forward/tcp", Listen: "127.0.0.1:8081", Target: "n2:80"},
		}},
	}
	var out bytes.Buffer
	printStatus(&env{stdout: &out, now: func() time.Time { return now }}, st)
	for _, want := range []string{
		"proxy      socks5 192.168.1.10:1080 (username and password required)\n",
		"proxy      http 127.0.0.1:3128 (no authentication)\n",
		"proxy      forward/tcp 127.0.0.1:8081 → n2:80\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}
	data, err := json.Marshal(st.Interface.Proxies)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"kind":"socks5","listen":"192.168.1.10:1080","auth":true},{"kind":"http","listen":"127.0.0.1:3128","auth":false},` +
		`{"kind":"forward/tcp","listen":"127.0.0.1:8081","target":"n2:80","auth":false}]`
	if string(data) != want {
		t.Errorf("JSON:\ngot  %s\nwant %s", data, want)
	}
}
