package hostroute

import (
	"testing"

	"github.com/rustynet/rustynet/hostapi"
)

func TestSameGateway(t *testing.T) {
	router := &hostapi.GatewayConfig{Prefixes: pfx("10.20.0.0/24", "10.30.0.0/24"), Masquerade: true}
	tests := []struct {
		name string
		a, b *hostapi.GatewayConfig
		want bool
	}{
		{"both nil", nil, nil, true},
		{"one nil", router, nil, false},
		{"same", router, CloneGateway(router), true},
		{"order does not matter", router, &hostapi.GatewayConfig{Prefixes: pfx("10.30.0.0/24", "10.20.0.0/24"), Masquerade: true}, true},
		{"masquerade differs", router, &hostapi.GatewayConfig{Prefixes: router.Prefixes}, false},
		{"a prefix differs", router, &hostapi.GatewayConfig{Prefixes: pfx("10.20.0.0/24", "10.31.0.0/24"), Masquerade: true}, false},
		{"a prefix more", router, &hostapi.GatewayConfig{Prefixes: pfx("10.20.0.0/24", "10.30.0.0/24", "0.0.0.0/0"), Masquerade: true}, false},
		{"empty and nil differ", &hostapi.GatewayConfig{}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SameGateway(tt.a, tt.b); got != tt.want {
				t.Errorf("SameGateway: got %v, want %v", got, tt.want)
			}
			if got := SameGateway(tt.b, tt.a); got != tt.want {
				t.Errorf("SameGateway reversed: got %v, want %v", got, tt.want)
			}
		})
	}
	c := CloneGateway(router)
	c.Prefixes[0] = pfx("10.99.0.0/16")[0]
	if router.Prefixes[0] == c.Prefixes[0] {
		t.Error("CloneGateway shares its prefixes with the original")
	}
}
