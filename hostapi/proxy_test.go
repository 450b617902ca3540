package hostapi_test

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
)

func TestCheckProxyAuth(t *testing.T) {
	tests := []struct {
		name string
		auth hostapi.ProxyAuth
		want string // part of the message; "" = valid
	}{
		{"valid", hostapi.ProxyAuth{Username: "alice", Password: "correct horse: staple"}, ""},
		{"UTF-8", hostapi.ProxyAuth{Username: "ü", Password: "ß"}, ""},
		{"longest", hostapi.ProxyAuth{Username: strings.Repeat("u", 255), Password: strings.Repeat("p", 255)}, ""},
		{"empty username", hostapi.ProxyAuth{Password: "hunter2"}, "proxy username: empty"},
		{"empty password", hostapi.ProxyAuth{Username: "u"}, "proxy password: empty"},
		{"colon in username", hostapi.ProxyAuth{Username: "a:b", Password: "hunter2"}, "has a colon"},
		{"long username", hostapi.ProxyAuth{Username: strings.Repeat("u", 256), Password: "hunter2"}, "longer than 255 bytes"},
		{"long password", hostapi.ProxyAuth{Username: "u", Password: strings.Repeat("p", 256)}, "proxy password: longer than 255 bytes"},
		{"newline in password", hostapi.ProxyAuth{Username: "u", Password: "hunter\n2"}, "control character"},
		{"not UTF-8", hostapi.ProxyAuth{Username: "u", Password: "hunter\xff"}, "not UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := hostapi.CheckProxyAuth(tt.auth)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got %v, want valid", err)
			case tt.want != "" && (!errors.Is(err, hostapi.ErrInvalidArgument) || !strings.Contains(hostapi.Message(err), tt.want)):
				t.Errorf("got %v, want INVALID_ARGUMENT …%s…", err, tt.want)
			case err != nil && tt.auth.Password != "" && strings.Contains(err.Error(), tt.auth.Password):
				t.Errorf("the error %q shows the password", err)
			}
		})
	}
}

func TestProxyAuthHidesPassword(t *testing.T) {
	a := hostapi.ProxyAuth{Username: "alice", Password: "s3cret"}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{a, &a, hostapi.ProxyConfig{Auth: &a}} {
			if got := fmt.Sprintf(format, v); strings.Contains(got, "s3cret") {
				t.Errorf("%s of %T shows the password: %s", format, v, got)
			}
		}
	}
}

func TestCheckHostName(t *testing.T) {
	for _, name := range []string{"n2", "n2.lab", "N2.Lab.", "a_b-c", "e2e", "1node"} {
		if err := hostapi.CheckHostName(name); err != nil {
			t.Errorf("CheckHostName(%q) = %v, want nil", name, err)
		}
	}
	for _, name := range []string{"", ".n2", "-n2", "n 2", "n2:80", "100.64.0.2", "::1", "ü", strings.Repeat("a", 254)} {
		if err := hostapi.CheckHostName(name); !errors.Is(err, hostapi.ErrInvalidArgument) {
			t.Errorf("CheckHostName(%q) = %v, want INVALID_ARGUMENT", name, err)
		}
	}
}

func TestForwardDestination(t *testing.T) {
	byAddr := hostapi.Forward{Target: netip.MustParseAddrPort("[fd7a::2]:53")}
	byName := hostapi.Forward{Target: netip.AddrPortFrom(netip.Addr{}, 80), TargetHost: "n2"}
	if got := byAddr.Destination(); got != "[fd7a::2]:53" {
		t.Errorf("got %q, want [fd7a::2]:53", got)
	}
	if got := byName.Destination(); got != "n2:80" {
		t.Errorf("got %q, want n2:80", got)
	}
}
