package hostapi

import (
	"net/netip"
	"unicode/utf8"
)

// MaxProxyCredential is the longest username or password of a ProxyAuth,
// in bytes: RFC 1929 gives each one length byte.
const MaxProxyCredential = 255

// MaxHostName is the longest name CheckHostName accepts, as DNS allows.
const MaxHostName = 253

// CheckProxyAuth checks both parts of a: see CheckProxyUsername and
// CheckProxyPassword. Its error is ErrInvalidArgument.
func CheckProxyAuth(a ProxyAuth) error {
	if err := CheckProxyUsername(a.Username); err != nil {
		return err
	}
	return CheckProxyPassword(a.Password)
}

// CheckProxyUsername accepts 1–MaxProxyCredential bytes of UTF-8 without
// control characters or a colon (HTTP Basic credentials end the username
// at the first colon). Its error is ErrInvalidArgument.
func CheckProxyUsername(s string) error {
	if why := credentialProblem(s); why != "" {
		return Errorf(CodeInvalidArgument, "proxy username: %s", why)
	}
	for _, r := range s {
		if r == ':' {
			return Errorf(CodeInvalidArgument, "proxy username: has a colon, which HTTP Basic credentials cannot carry in a username")
		}
	}
	return nil
}

// CheckProxyPassword accepts 1–MaxProxyCredential bytes of UTF-8 without
// control characters. Its error is ErrInvalidArgument and never shows
// the password.
func CheckProxyPassword(s string) error {
	if why := credentialProblem(s); why != "" {
		return Errorf(CodeInvalidArgument, "proxy password: %s", why)
	}
	return nil
}

// credentialProblem says what breaks the rule both parts of a ProxyAuth
// follow, or "" if nothing does; it never quotes s.
func credentialProblem(s string) string {
	switch {
	case s == "":
		return "empty"
	case len(s) > MaxProxyCredential:
		return "longer than 255 bytes (RFC 1929)"
	case !utf8.ValidString(s):
		return "not UTF-8"
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return "has a control character"
		}
	}
	return ""
}

// CheckHostName accepts a name the proxies may resolve: 1–MaxHostName
// bytes of ASCII letters, digits, '.', '-' and '_', not an IP address, not
// starting with '.' or '-'. Node ids and network ids are such names. Its
// error is ErrInvalidArgument.
func CheckHostName(s string) error {
	if s == "" || len(s) > MaxHostName {
		return Errorf(CodeInvalidArgument, "host name %q: want 1–%d characters", s, MaxHostName)
	}
	if s[0] == '.' || s[0] == '-' {
		return Errorf(CodeInvalidArgument, "host name %q starts with %q", s, s[0])
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
			return Errorf(CodeInvalidArgument, "host name %q: want letters, digits, '.', '-' and '_'", s)
		}
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return Errorf(CodeInvalidArgument, "host name %q is an address", s)
	}
	return nil
}
