package netstack

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/rustynet/rustynet/hostapi"
)

// credentials are what a client of the SOCKS5 or HTTP proxy must present
// (hostapi.ProxyConfig.Auth). They are held as SHA-256 digests and
// compared in constant time, so that how long a check takes tells a client
// nothing about how close its guess was, not even its length.
type credentials struct {
	user, pass [sha256.Size]byte
}

// newCredentials returns the credentials of a, or nil (no authentication)
// for a nil a.
func newCredentials(a *hostapi.ProxyAuth) *credentials {
	if a == nil {
		return nil
	}
	return &credentials{user: sha256.Sum256([]byte(a.Username)), pass: sha256.Sum256([]byte(a.Password))}
}

// match reports whether user and pass are the credentials.
func (c *credentials) match(user, pass string) bool {
	u, p := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))
	return subtle.ConstantTimeCompare(u[:], c.user[:])&subtle.ConstantTimeCompare(p[:], c.pass[:]) == 1
}

// proxyAuthRealm is the realm the HTTP proxy names in Proxy-Authenticate.
const proxyAuthRealm = `Basic realm="rustynet", charset="UTF-8"`

// matchHTTP reports whether r carries the credentials as Basic
// credentials in Proxy-Authorization (RFC 9110 §11.7.2, RFC 7617).
func (c *credentials) matchHTTP(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Proxy-Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(token))
	if err != nil {
		return false
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	return ok && c.match(user, pass)
}

// authTagger names credentials in service keys without revealing them: a
// key carries an HMAC of the credentials under a key drawn when the
// backend starts, so that a change of credentials restarts the proxies
// (ending the sessions the old ones opened) while logs show nothing a
// password could be guessed from offline.
type authTagger struct{ key [32]byte }

func newAuthTagger() *authTagger {
	t := &authTagger{}
	_, _ = rand.Read(t.key[:]) // crypto/rand.Read never fails
	return t
}

// tag returns "" for no credentials, else " auth " and 12 hex digits.
func (t *authTagger) tag(a *hostapi.ProxyAuth) string {
	if a == nil {
		return ""
	}
	mac := hmac.New(sha256.New, t.key[:])
	mac.Write([]byte(a.Username))
	mac.Write([]byte{0})
	mac.Write([]byte(a.Password))
	return " auth " + hex.EncodeToString(mac.Sum(nil)[:6])
}
